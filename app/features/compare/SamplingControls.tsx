// Sampling settings shared by every column and the batch evaluation: greedy or temperature / top-p / top-k,
// max new tokens, stop strings (one per line), seed, repetition penalty, the chat template on or off, and the
// decoder: our engine or onnxruntime-web on the ONNX export of the same weights (same tokens; the automatic choice
// is ours, and onnxruntime only on a software adapter for a model our CPU step does not take: engine/answers.ts).
import { useState } from 'react';
import type { Sampling } from './store';

export function SamplingControls({ value, onChange, disabled }: { value: Sampling; onChange: (p: Partial<Sampling>) => void; disabled: boolean }) {
  const greedy = value.temperature === 0;
  // The text as typed (a trailing empty line is kept while typing; empty lines are not stop strings).
  const [stops, setStops] = useState(value.stopStrings.join('\n'));
  const num = (label: string, key: 'temperature' | 'topP' | 'topK' | 'maxNewTokens' | 'seed' | 'repetitionPenalty', step: number, min: number, max?: number) => (
    <label>
      {label}
      <input
        type="number" step={step} min={min} max={max} value={value[key]} disabled={disabled || (greedy && (key === 'temperature' || key === 'topP' || key === 'topK'))}
        onChange={(e) => { const v = Number(e.target.value); if (Number.isFinite(v)) onChange({ [key]: key === 'topK' || key === 'maxNewTokens' || key === 'seed' ? Math.max(min, Math.round(v)) : v }); }}
      />
    </label>
  );
  return (
    <fieldset className="panel sampling" aria-label="Sampling settings">
      <legend>Sampling</legend>
      <div className="sampling-grid">
        <label>
          <input type="checkbox" checked={greedy} disabled={disabled} onChange={(e) => onChange({ temperature: e.target.checked ? 0 : 0.7 })} />
          Greedy
        </label>
        {num('Temperature', 'temperature', 0.05, 0, 5)}
        {num('Top-p', 'topP', 0.05, 0, 1)}
        {num('Top-k', 'topK', 1, 0)}
        {num('Max new tokens', 'maxNewTokens', 1, 1, 4096)}
        {num('Seed', 'seed', 1, 0)}
        {num('Repetition penalty', 'repetitionPenalty', 0.05, 1, 3)}
        <label>
          Stop strings (one per line)
          <textarea
            rows={2} disabled={disabled} value={stops}
            onChange={(e) => { setStops(e.target.value); onChange({ stopStrings: e.target.value.split('\n').filter((s) => s.length > 0) }); }}
          />
        </label>
        <label>
          <input type="checkbox" checked={value.chatTemplate} disabled={disabled} onChange={(e) => onChange({ chatTemplate: e.target.checked })} />
          Use the chat template
        </label>
        <label>
          Decoder
          <select value={value.backend} disabled={disabled} onChange={(e) => onChange({ backend: e.target.value as Sampling['backend'] })}>
            <option value="auto">Automatic (fastest here)</option>
            <option value="webgpu">WebGPU engine</option>
            <option value="onnx">onnxruntime-web (wasm)</option>
          </select>
        </label>
      </div>
    </fieldset>
  );
}
