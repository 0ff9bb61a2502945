// Run configuration: presets (quick / balanced / thorough) and every knob TRL and LLaMA-Factory users expect.
// The preset comes first, the knobs most runs change next, the rest under "Advanced" (collapsed).
// Each field is a labelled control (help text under it); problems found by validateRunConfig are listed next to the form (and the
// Start button stays disabled while any is an error). A run that starts from an imported adapter has its LoRA
// shape (rank, alpha, rsLoRA, targets) fixed by that adapter: those fields are shown but not editable.
import { useEffect, useId, useState } from 'react';
import type { LrSchedule } from '../../../src/train/schedule';
import { PRESETS, type PresetName, type RunConfig } from '../../../src/train/presets';

/** A labelled number box (help text under it); the GRPO panel's knobs use it too. */
export function NumberField({ label, value, onChange, hint, disabled }: { label: string; value: number; onChange: (v: number) => void; hint?: string; disabled?: boolean }) {
  // Text, not type=number: '2e-4' must be typeable. Unparseable text becomes NaN, which validation explains.
  const [text, setText] = useState(String(value));
  const id = useId();
  useEffect(() => {
    if (Number(text) !== value && !(Number.isNaN(value) && Number.isNaN(Number(text)))) setText(String(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  // The form layout of app/styles.css: label above the control, help text under it (described-by, not in the name).
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id} type="text" inputMode="decimal" value={text} size={7} disabled={disabled} aria-describedby={hint ? `${id}-help` : undefined}
        onChange={(e) => { setText(e.target.value); onChange(e.target.value.trim() === '' ? Number.NaN : Number(e.target.value)); }}
      />
      {hint ? <span className="help" id={`${id}-help`}>{hint}</span> : null}
    </div>
  );
}

function Check({ label, checked, onChange, disabled }: { label: string; checked: boolean; onChange: (v: boolean) => void; disabled?: boolean }) {
  return (
    <label>
      <input type="checkbox" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

export function ConfigForm({ cfg, onChange, modules, preset, onPreset, disabled, loraFixedBy = null }: {
  cfg: RunConfig;
  onChange: (c: RunConfig) => void;
  modules: string[];
  preset: PresetName | null;
  onPreset: (p: PresetName) => void;
  disabled: boolean;
  /** The imported adapter's name when the run starts from it (its LoRA shape is fixed). */
  loraFixedBy?: string | null;
}) {
  const fixed = loraFixedBy !== null;
  const lora = (p: Partial<RunConfig['lora']>) => onChange({ ...cfg, lora: { ...cfg.lora, ...p } });
  const train = (p: Partial<RunConfig['train']>) => onChange({ ...cfg, train: { ...cfg.train, ...p } });
  const { lora: l, train: t } = cfg;
  return (
    <fieldset className="config-form" disabled={disabled}>
      <legend>Configuration</legend>
      <div role="radiogroup" aria-label="Preset" className="preset-picker">
        {(Object.keys(PRESETS) as PresetName[]).map((p) => (
          <label key={p}>
            <input type="radio" name="preset" checked={preset === p} onChange={() => onPreset(p)} />
            {p[0].toUpperCase() + p.slice(1)}
          </label>
        ))}
        <span className="hint">{preset === null ? 'Custom: a knob was changed after choosing a preset.' : 'A preset sets every knob below; change any to customise.'}</span>
      </div>
      {fixed ? <p className="hint">Rank, alpha, rsLoRA and target modules are those of the imported adapter {loraFixedBy}.</p> : null}
      <div className="knobs">
        <fieldset>
          <legend>Length</legend>
          <NumberField label="Epochs" value={t.epochs} onChange={(epochs) => train({ epochs })} />
          <NumberField label="Max steps" value={t.maxSteps} onChange={(maxSteps) => train({ maxSteps })} hint="Optimizer steps; when above 0 it ends the run and epochs are ignored. 0 = run the epochs." />
        </fieldset>
        <fieldset>
          <legend>Optimisation</legend>
          <NumberField label="Learning rate" value={t.lr} onChange={(lr) => train({ lr })} />
          <NumberField label="Warm-up steps" value={t.warmupSteps} onChange={(warmupSteps) => train({ warmupSteps })} />
          <NumberField label="Batch size" value={t.batchSize} onChange={(batchSize) => train({ batchSize })} />
        </fieldset>
        <fieldset>
          <legend>LoRA</legend>
          <NumberField label="LoRA rank" value={l.rank} onChange={(rank) => lora({ rank })} disabled={fixed} />
          <NumberField label="LoRA alpha" value={l.alpha} onChange={(alpha) => lora({ alpha })} disabled={fixed} />
        </fieldset>
        <fieldset>
          <legend>Data and evaluation</legend>
          <NumberField label="Max sequence length" value={t.maxSeqLength} onChange={(maxSeqLength) => train({ maxSeqLength })} hint="Tokens per example; longer ones are cut." />
          <NumberField label="Evaluate every N steps" value={cfg.evalEvery} onChange={(evalEvery) => onChange({ ...cfg, evalEvery })} hint="0 = only at the end" />
          <NumberField label="Checkpoint every N steps" value={cfg.checkpointEvery} onChange={(checkpointEvery) => onChange({ ...cfg, checkpointEvery })} hint="0 = only at the end and on pause" />
        </fieldset>
      </div>
      <details className="advanced">
        <summary>Advanced</summary>
        <div className="knobs">
          <fieldset>
            <legend>LoRA</legend>
            <NumberField label="LoRA dropout" value={l.dropout} onChange={(dropout) => lora({ dropout })} />
            <Check label="rsLoRA (scale alpha/√r)" checked={l.useRslora} onChange={(useRslora) => lora({ useRslora })} disabled={fixed} />
            <div role="group" aria-label="Target modules" className="row">
              <span>Target modules:</span>
              {(fixed ? [...new Set([...modules, ...l.targetModules])] : modules).map((m) => (
                <Check
                  key={m} label={m} checked={l.targetModules.includes(m)} disabled={fixed}
                  onChange={(on) => lora({ targetModules: on ? [...l.targetModules, m] : l.targetModules.filter((x) => x !== m) })}
                />
              ))}
            </div>
          </fieldset>
          <fieldset>
            <legend>Optimisation</legend>
            <label>
              Schedule
              <select value={t.schedule} onChange={(e) => { const v = e.target.value; if (v === 'constant' || v === 'linear' || v === 'cosine') train({ schedule: v satisfies LrSchedule }); }}>
                <option value="constant">constant</option>
                <option value="linear">linear decay</option>
                <option value="cosine">cosine decay</option>
              </select>
            </label>
            <NumberField label="Gradient accumulation" value={t.gradAccumSteps} onChange={(gradAccumSteps) => train({ gradAccumSteps })} />
            <NumberField label="Weight decay" value={t.weightDecay} onChange={(weightDecay) => train({ weightDecay })} />
            <NumberField label="Gradient clipping (max norm)" value={t.maxGradNorm} onChange={(maxGradNorm) => train({ maxGradNorm })} />
            <NumberField label="Seed" value={t.seed} onChange={(seed) => train({ seed })} />
          </fieldset>
          <fieldset>
            <legend>Data</legend>
            <Check label="Sequence packing" checked={cfg.packing} onChange={(packing) => onChange({ ...cfg, packing })} />
            <Check label="Loss on assistant turns only" checked={cfg.assistantOnly} onChange={(assistantOnly) => onChange({ ...cfg, assistantOnly })} />
            <NumberField label="Early stopping patience" value={cfg.earlyStopPatience} onChange={(earlyStopPatience) => onChange({ ...cfg, earlyStopPatience })} hint="evaluations without a better validation loss; 0 = off" />
          </fieldset>
        </div>
      </details>
    </fieldset>
  );
}
