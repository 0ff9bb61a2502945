// The model picker: the embedded default (/models/default/), a dropped or chosen folder or files, or a
// well-known small model (or any repo id) downloaded from the Hugging Face hub, or a mirror of it at another
// endpoint (the one "Hub endpoint" setting, app/shell/hub-endpoint.tsx), with progress, resumable and cached for
// offline use (the engine worker does the fetching: src/io/download.ts). Says plainly when there
// is no WebGPU or only a software adapter; with a model loaded, the adapter it runs on and its fast paths (shader-f16,
// subgroups, binding limit: the engine's gpu summary). With a model loaded, the other sources fold away under a summary.
// After a reload it offers the last session's model (LastModelOffer). Everything it shows of a model is text, never HTML.
// "Weights on the GPU" chooses how the next load keeps the frozen base (as shipped, bf16, 8-bit, 4-bit), each with
// the memory its weights take for the loaded model's shape and LoRA training's, with and without activation
// checkpointing; the choice is remembered across reloads (lastModel.ts).
import { useState, type DragEvent } from 'react';
import { Alert } from '../../components/Alert';
import { ProgressBar } from '../../components/ProgressBar';
import { filesFromDataTransfer, filesFromFileList, type ModelFiles } from '../../../src/io/model-files';
import { gpuLine } from '../../../src/gpu/adapter';
import { mib } from '../../../src/gpu/memory';
import { HF_ENDPOINT, KNOWN_MODELS } from '../../../src/io/download';
import { estimateMemory } from '../../../src/model/memory-estimate';
import type { WeightStorage } from '../../../src/ops/weight-storage';
import { engineSelectors, useEngine } from '../../store/engine';
import { lastWeights, rememberWeights } from './lastModel';
import { LastModelOffer } from './LastModelOffer';
import { HubEndpointField, useHubEndpoint } from '../../shell/hub-endpoint';
import type { ModelInfo, ModelSource } from '../../../src/engine/api';

const DEFAULT_URL = '/models/default/';

const WEIGHT_CHOICES: { value: WeightStorage | ''; label: string }[] = [
  { value: '', label: 'As shipped' }, { value: 'bf16', label: 'bf16' }, { value: 'q8', label: '8-bit (Q8)' }, { value: 'q4', label: '4-bit (NF4)' },
];

/** An option's label, with what the weights take for the loaded model in that storage ("as shipped": the checkpoint's own). */
function weightLabel(choice: (typeof WEIGHT_CHOICES)[number], model: ModelInfo | null): string {
  if (!model) return choice.label;
  const weights = choice.value || model.trainingMemory.shipped;
  return `${choice.label}: weights ${mib(estimateMemory(model.config, { training: false, loraRank: 0, batchTokens: 1, weights }).weightsBytes)}`;
}

/**
 * LoRA training at the engine's default batch for each choice, with activation checkpointing (what a run that would
 * not fit without it turns on) and without (src/model/memory-estimate.ts loraMemoryByStorage): the number to read
 * before choosing.
 */
function loraMemoryLine(model: ModelInfo): string {
  const m = model.trainingMemory;
  const each = WEIGHT_CHOICES.map((c) => {
    const s = m.byWeights.find((x) => x.weights === (c.value || m.shipped))!;
    return `${c.value ? c.label : `as shipped (${m.shipped})`} ${mib(s.bytesWithCheckpointing)} / ${mib(s.bytes)}`;
  });
  return `LoRA training (r=${m.loraRank}, ${m.batchTokens} tokens), with / without activation checkpointing: ${each.join('; ')}.`;
}

/** Picked/dropped files as blobs the worker can take: the Files themselves, unread (the worker reads them by slices). */
async function toSource(files: ModelFiles): Promise<ModelSource> {
  const list = await Promise.all(files.list().map(async (path) => ({ path, file: files.blob?.(path) ?? new Blob([(await files.read(path)).slice()]) })));
  return { kind: 'files', name: files.name, files: list };
}

export function ModelPicker() {
  const model = useEngine((s) => s.model);
  const loading = useEngine((s) => s.loading);
  const error = useEngine((s) => s.error);
  const adapter = useEngine((s) => s.adapter);
  const adapterMsg = engineSelectors.adapterMessage({ adapter });
  const deviceLost = useEngine((s) => s.deviceLost);
  const running = useEngine((s) => engineSelectors.isRunning(s));
  const loadModel = useEngine((s) => s.loadModel);
  const dismissError = useEngine((s) => s.dismissError);
  const [repo, setRepo] = useState(KNOWN_MODELS[0].repo);
  const hub = useHubEndpoint();
  const [over, setOver] = useState(false);
  const [weights, setWeights] = useState<WeightStorage | ''>(lastWeights);
  const chooseWeights = (w: WeightStorage | '') => { setWeights(w); rememberWeights(w); };

  const busy = loading !== null || running;
  const loadWith = (source: ModelSource) => loadModel(source, weights || undefined);
  const load = (src: Promise<ModelSource>) => { void src.then(loadWith); };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (!busy) load(filesFromDataTransfer(e.dataTransfer).then(toSource));
  };

  return (
    <section className="panel model-picker" aria-labelledby="model-picker-title">
      <h2 id="model-picker-title">Model</h2>
      {adapterMsg && <p role={adapterMsg.level === 'error' ? 'alert' : 'note'} className={adapterMsg.level === 'error' ? 'alert' : 'hint warning'}>{adapterMsg.text}</p>}
      {deviceLost && <p role="alert" className="alert">{deviceLost} The run stopped at its last checkpoint: resume it from the run history (a new device is made for it).</p>}
      {error && <Alert message={error} onDismiss={dismissError} />}
      <p aria-live="polite" className="model-status">
        {model
          ? `Loaded: ${model.name} — ${model.config.modelType}, ${model.config.numLayers} layers, ${model.parameters.toLocaleString('en')} parameters, weights ${model.weights}; about ${mib(model.inferenceBytes)} for inference (training memory is estimated below for the run's own settings).`
          : 'No model loaded.'}
      </p>
      {model && <p className="hint" aria-label="GPU">GPU: {gpuLine(model.gpu)}</p>}
      {loading && <ProgressBar label={loading.message} fraction={loading.total > 0 ? loading.loaded / loading.total : 0} />}
      <LastModelOffer why="Training, Compare and Export all need one." />
      <div className="row">
        <label>
          Weights on the GPU
          <select value={weights} disabled={busy} onChange={(e) => chooseWeights(WEIGHT_CHOICES.find((c) => c.value === e.target.value)?.value ?? '')}>
            {WEIGHT_CHOICES.map((c) => <option key={c.value} value={c.value}>{weightLabel(c, model)}</option>)}
          </select>
        </label>
        <span className="hint">Applies to the next load. 8-bit and 4-bit keep the frozen base quantised (QLoRA-style); the adapter trains in f32.</span>
      </div>
      {model && <p className="hint" aria-label="LoRA training memory by weights">{loraMemoryLine(model)}</p>}
      <div className="row">
        <button type="button" disabled={busy} onClick={() => void loadWith({ kind: 'url', name: 'default model', baseUrl: new URL(DEFAULT_URL, location.href).href })}>
          Load the built-in model
        </button>
      </div>
      <details className="other-models" open={!model}>
        <summary>{model ? 'Load another model: a folder, files or a Hugging Face repository' : 'Or load a folder, files or a Hugging Face repository'}</summary>
      <div
        role="region" aria-label="Drop a model folder" className={over ? 'file-drop over' : 'file-drop'}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={onDrop}
      >
        <p>Drop a Hugging Face model folder (config.json, tokenizer files, *.safetensors) here, or</p>
        <label className="file-pick">
          Choose a folder
          <input
            type="file" aria-label="Choose model folder" disabled={busy}
            ref={(el) => { el?.setAttribute('webkitdirectory', ''); }}
            onChange={(e) => { const f = e.target.files; if (f?.length) load(toSource(filesFromFileList(f))); e.target.value = ''; }}
          />
        </label>
        <label className="file-pick">
          Choose files
          <input
            type="file" multiple aria-label="Choose model files" disabled={busy}
            onChange={(e) => { const f = e.target.files; if (f?.length) load(toSource(filesFromFileList(f, 'dropped model'))); e.target.value = ''; }}
          />
        </label>
      </div>
      <form
        className="row" noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const endpoint = hub.check();
          if (endpoint && !busy && repo.trim()) void loadWith({ kind: 'hub', repo: repo.trim(), revision: 'main', endpoint });
        }}
      >
        <label>
          Hugging Face model
          <input list="known-models" value={repo} onChange={(e) => setRepo(e.target.value)} aria-label="Hugging Face repository id" spellCheck={false} />
        </label>
        <datalist id="known-models">
          {KNOWN_MODELS.map((m) => <option key={m.repo} value={m.repo}>{m.label}</option>)}
        </datalist>
        <HubEndpointField hub={hub} describedBy="hub-endpoint-hint" />
        <button type="submit" disabled={busy}>Download and load</button>
        {hub.error && <p role="alert" className="alert">{hub.error}</p>}
        <span className="hint" id="hub-endpoint-hint">
          The endpoint is {HF_ENDPOINT} unless you use a mirror (the same setting serves Hub datasets and pushes). Downloads resume where they stopped and are kept in this browser, so the next open works offline.
        </span>
      </form>
      </details>
    </section>
  );
}

/** One line for the header: which model is loaded. */
export function ModelBadge() {
  const model = useEngine((s) => s.model);
  return <span className="model-badge" aria-label="Loaded model">{model ? model.name : 'no model'}</span>;
}
