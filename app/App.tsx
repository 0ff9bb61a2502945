// The studio shell: a header with the four steps of the path (data → train → compare → export) as navigation
// (Radix Tabs: arrow keys move between steps; each shows its number, or a tick once done), the loaded model
// and the theme toggle; below it the current step's page. Features live in app/features/<name>/; this file
// only lays them out. Notifications (app/components/toasts.tsx) are mounted here once.
import { lazy, Suspense, useEffect, useState } from 'react';
import { Tabs } from 'radix-ui';
import { appEngineStore, useEngine } from './store/engine';
import { appDatasetsStore, datasetsStoreReady, useDatasets } from './store';
import { Toasts } from './components/toasts';
import { WriterBanner } from './components/WriterBanner';
import { EngineLostBanner } from './components/EngineLostBanner';
import { useTheme } from './shell/theme';
import { GuidedPath } from './features/welcome/GuidedPath';
import { seedFirstRun } from './features/welcome/firstRun';
import { DatasetsPage } from './features/datasets/DatasetsPage';
import { ModelBadge } from './features/model';
import { TrainingPage } from './features/training/TrainingPage';

// Compare (its tables, word diff and conversation view) and Export (its formats and the Hub push) load when first
// opened: they keep the first visit's JavaScript under its budget (scripts/ui-report.ts).
const ComparePage = lazy(async () => ({ default: (await import('./features/compare/ComparePage')).ComparePage }));
const ExportPage = lazy(async () => ({ default: (await import('./features/export/ExportPage')).ExportPage }));

const STEPS = ['Data', 'Train', 'Compare', 'Export'] as const;
type Step = (typeof STEPS)[number];
const isStep = (v: string): v is Step => (STEPS as readonly string[]).includes(v);

/** Which steps are done: data imported, a run with a checkpoint, a stored batch evaluation. */
function useDone(): Record<Step, boolean> {
  const data = useDatasets((s) => s.records.length > 0);
  const train = useEngine((s) => s.runs.some((r) => r.checkpoints.last !== null || r.checkpoints.best !== null));
  const compare = useEngine((s) => s.evaluations.length > 0);
  return { Data: data, Train: train, Compare: compare, Export: false };
}

export function App() {
  const [step, setStep] = useState<Step>('Data');
  const [theme, nextTheme] = useTheme();
  const done = useDone();
  useEffect(() => { void datasetsStoreReady().then(() => seedFirstRun(appDatasetsStore(), appEngineStore())); }, []);
  return (
    <Tabs.Root className="studio" value={step} onValueChange={(v) => { if (isStep(v)) setStep(v); }}>
      <WriterBanner />
      <EngineLostBanner />
      <header className="shell-header">
        <h1 className="brand"><img src="/favicon.svg" alt="" />SFT Studio</h1>
        <Tabs.List className="steps" aria-label="Studio steps">
          {STEPS.map((s, i) => (
            <Tabs.Trigger key={s} value={s} className={done[s] ? 'step done' : 'step'}>
              <span className="step-num" aria-hidden="true">{done[s] ? '✓' : i + 1}</span>
              {s}
              {done[s] ? <span className="visually-hidden"> (done)</span> : null}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        <div className="shell-tools">
          <ModelBadge />
          <button type="button" className="ghost" onClick={nextTheme} aria-label={`Theme: ${theme}. Change theme`}>
            {theme === 'dark' ? '☾ Dark' : theme === 'light' ? '☀ Light' : '◐ System'}
          </button>
        </div>
      </header>
      <Tabs.Content value={step} className="shell-main">
        <GuidedPath step={step} />
        {step === 'Data' ? <DatasetsPage /> : step === 'Train' ? <TrainingPage /> : step === 'Compare'
          ? <Suspense fallback={<p role="status" className="empty">Loading Compare…</p>}><ComparePage /></Suspense>
          : <Suspense fallback={<p role="status" className="empty">Loading Export…</p>}><ExportPage /></Suspense>}
      </Tabs.Content>
      <Toasts />
    </Tabs.Root>
  );
}
