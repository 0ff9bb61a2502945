// The engine's model calls: what WebGPU offers here (probe), loading a model (memory admission, weights straight to
// the GPU, fingerprinted on the way) and the loaded model's tokenizer files for the data tools. describeModel is what
// the engine reports of a model before any GPU is asked (the command line's `info` prints it).
import { gpuSummary, isSoftwareAdapter } from '../gpu/adapter';
import { loadHfModelMeta, openWeights, parameterCount, templateOf, type ModelMeta } from '../io/hf';
import { loadTransformer, storageAsShipped } from '../io/load';
import { DEFAULT_LORA } from '../model/lora';
import { estimateMemory, loraMemoryByStorage, memoryVerdict, type MemoryEstimate } from '../model/memory-estimate';
import type { WeightStorage } from '../ops/weight-storage';
import { targetableModules } from '../train/presets';
import type { AdapterReport, EngineMethods, ModelInfo } from './api';
import type { EngineContext } from './context';
import { fingerprinter } from './fingerprint';

/** Batch tokens of the estimates a model is loaded with: inference on one 512-token row; training LoRA r=8 on 4×512. */
const INFERENCE_TOKENS = 512, TRAINING_TOKENS = 4 * 512;

function estimates(model: ModelMeta, weights?: WeightStorage): { infer: MemoryEstimate; train: MemoryEstimate } {
  return {
    infer: estimateMemory(model.config, { training: false, loraRank: 0, batchTokens: INFERENCE_TOKENS, weights }),
    train: estimateMemory(model.config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: TRAINING_TOKENS, weights }),
  };
}

/**
 * A model's figures without the GPU: its size, LoRA targets, template, and the memory estimates the picker shows
 * (`shipped`: the storage its checkpoint ships its matrices in; `maxBindingBytes`: the adapter's binding limit, when
 * one is known, which splits large weights).
 */
export function describeModel(
  model: ModelMeta, weights: WeightStorage | undefined, opts: { shipped: WeightStorage; maxBindingBytes?: number },
): Omit<ModelInfo, 'name' | 'fingerprint' | 'memoryBudget' | 'weights' | 'gpu'> {
  const { infer, train } = estimates(model, weights);
  const trainingMemory = loraMemoryByStorage(model.config, {
    shipped: opts.shipped, batchTokens: TRAINING_TOKENS, loraRank: DEFAULT_LORA.rank, weights, maxBindingBytes: opts.maxBindingBytes,
  });
  return {
    config: model.config, parameters: parameterCount(model.config), vocabSize: model.tokenizer.vocabSize, targetModules: targetableModules(model.config),
    chatTemplate: model.chatTemplate !== null, endOfTurn: templateOf(model).endOfTurn || null,
    inferenceBytes: infer.inferenceBytes, trainingBytes: train.trainingBytes, trainingMemory,
  };
}

export function modelCalls(ctx: EngineContext): Pick<EngineMethods, 'probe' | 'loadModel' | 'tokenizerFiles'> {
  const { resident } = ctx;
  return {
    async probe(): Promise<AdapterReport> {
      const none = (reason: string): AdapterReport => ({ available: false, software: false, vendor: '', architecture: '', description: '', maxBufferSize: 0, maxStorageBufferBindingSize: 0, reason });
      const nav = typeof navigator === 'undefined' ? undefined : navigator;
      if (!nav?.gpu) return none('This browser does not offer WebGPU. Use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled.');
      const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) return none('WebGPU is present but found no GPU adapter: the GPU may be blocklisted or disabled (check chrome://gpu), or this machine has none.');
      const info = adapter.info;
      const software = isSoftwareAdapter(info);
      return {
        available: true, software, vendor: info.vendor, architecture: info.architecture, description: info.description,
        maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, reason: null,
      };
    },

    async loadModel({ source, weights }, onEvent = () => {}) {
      resident.refuseWhileStepping('loading another model');
      if (resident.active) throw new Error('A paused run holds the model; finish or cancel it before loading another model.');
      const files = await ctx.host.modelFiles(source, (message, p) => onEvent({ type: 'load', message, ...p }));
      const model = await loadHfModelMeta(files);
      const headers = await openWeights(files, model.config);
      await headers.close(); // the shapes are read; the load opens the files again
      const shipped = storageAsShipped([...headers.shapes.values()]);
      const g = await resident.device();
      const described = describeModel(model, weights, { shipped, maxBindingBytes: g.device.limits.maxStorageBufferBindingSize });
      resident.drop(); // its memory counts as free for the probe
      const memoryBudget = await g.probeMemory(Math.max(described.inferenceBytes, described.trainingBytes));
      const refusal = memoryVerdict('inference', estimates(model, weights).infer, memoryBudget);
      if (refusal) throw new Error(`${files.name}: ${refusal}`);
      // The weights go straight to the GPU (the base model, resident), fingerprinted on the way.
      const print = fingerprinter(model.config);
      const net = await g.withOomScope(`Loading ${files.name} onto the GPU`, () => loadTransformer(g, files, model.config, { kind: 'none' }, {
        weights, onProgress: (p) => onEvent({ type: 'load', message: `Reading ${files.name}`, ...p }), onTensor: print.sample,
      }));
      resident.keep(net, 'none');
      resident.dropOnnx();
      const info: ModelInfo = { name: files.name, ...described, fingerprint: print.digest(), memoryBudget, weights: net.frozenStorage, gpu: gpuSummary(g) };
      resident.loaded = { info, model, files };
      return info;
    },

    async tokenizerFiles() {
      const m = resident.model();
      const text = async (path: string) => new TextDecoder().decode(await m.files.read(path));
      const hasConfig = m.files.list().includes('tokenizer_config.json');
      return { name: m.info.name, tokenizerJson: await text('tokenizer.json'), tokenizerConfig: hasConfig ? await text('tokenizer_config.json') : null };
    },
  };
}
