// The studio shell: a tab per step of the path (data → train → compare → export). Features live in
// app/features/<name>/; this file only lays them out.
import { useEffect, useState } from 'react';
import { appEngineStore } from './engine/store';
import { appStore, appStoreReady } from './store/appStore';
import { GuidedPath } from './features/welcome/GuidedPath';
import { seedFirstRun } from './features/welcome/firstRun';
import { CompareFeature } from './features/compare';
import { DatasetsFeature } from './features/datasets';
import { ExportFeature } from './features/export';
import { ModelBadge } from './features/model';
import { TrainingFeature } from './features/training';

const STEPS = ['Data', 'Train', 'Compare', 'Export'] as const;
type Step = (typeof STEPS)[number];

export function App() {
  const [step, setStep] = useState<Step>('Data');
  useEffect(() => { void appStoreReady().then(() => seedFirstRun(appStore(), appEngineStore())); }, []);
  return (
    <div className="studio">
      <header>
        <h1>SFT Studio</h1>
        <nav aria-label="Studio steps" role="tablist">
          {STEPS.map((s) => (
            <button key={s} role="tab" aria-selected={s === step} onClick={() => setStep(s)}>
              {s}
            </button>
          ))}
        </nav>
        <ModelBadge />
      </header>
      <main role="tabpanel" aria-label={step}>
        <GuidedPath step={step} />
        {step === 'Data' ? <DatasetsFeature /> : step === 'Train' ? <TrainingFeature /> : step === 'Compare' ? <CompareFeature /> : <ExportFeature />}
      </main>
    </div>
  );
}
