// `npm run scale` (opt-in, not part of npm test): GPU memory of LoRA training at real model sizes, as JSON on stdout.
// For the shapes of seven public models (their config.json values, written below; random weights drawn here, never
// saved), in each frozen-base storage (bf16, q8, q4) × activation checkpointing off/on, at 1×512 and 4×512 tokens:
//  - estimatedBytes: src/io/hf.ts estimateMemory (LoRA r=8 on q/k/v/o, the studio's default). Held within 1.0-1.3× of
//    live bytes after a step by tests/node/memory-estimate.test.ts (1.01-1.15× measured, bf16 and 4-bit included);
//  - live: for the models up to --live-max-params (default 0.6e9) the model is really built on this machine's
//    adapter in each storage, weights streamed tensor by tensor: the GPU bytes it holds (weights + LoRA state), the
//    estimate's count of the same, the load time (random draws and quantisation on the host included), and the host
//    RSS after the load (SwiftShader's GPU memory is in it). Bigger models are estimated only: on SwiftShader the GPU
//    is host memory and this machine has 23 GiB. A training step at 512 tokens of real widths
//    takes many minutes on SwiftShader, so the step's activations are the estimate's (see above for its measured
//    accuracy), not measured here;
//  - pytorchPeftGiB: what PyTorch + PEFT need for the same run, by arithmetic (pytorchBytes below), not measured.
// Usage: npm run scale [-- --live-max-params N]
import { estimateMemory, expectedWeights, parameterCount } from '../src/io/hf';
import { configFromHf } from '../src/model/arch';
import type { ModelConfig } from '../src/model/config';
import { DEFAULT_LORA } from '../src/model/lora';
import type { WeightStorage } from '../src/ops/weight-storage';
import { Transformer } from '../src/model/transformer';
import { createGpu } from '../src/gpu/runtime';
import { installNodeWebGPU } from '../src/gpu/node';

const llama = (o: Record<string, unknown>) => ({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_act: 'silu', rms_norm_eps: 1e-5, max_position_embeddings: 8192, ...o });
const qwen3 = (o: Record<string, unknown>) => ({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 40960, vocab_size: 151936, head_dim: 128, tie_word_embeddings: true, ...o });
const llama32 = { vocab_size: 128256, rope_theta: 500000, tie_word_embeddings: true, head_dim: 64, rope_scaling: null };

/** config.json values of each model (the fields the studio reads). */
const MODELS: { name: string; hf: Record<string, unknown> }[] = [
  { name: 'SmolLM2-135M', hf: llama({ vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, tie_word_embeddings: true }) },
  { name: 'Gemma-3-270M', hf: {
    model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], vocab_size: 262144, hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18,
    num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', rms_norm_eps: 1e-6, max_position_embeddings: 32768,
    rope_theta: 1000000, rope_local_base_freq: 10000, sliding_window: 512, query_pre_attn_scalar: 256, tie_word_embeddings: true,
    layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
  } },
  { name: 'Qwen2.5-0.5B', hf: { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 32768, tie_word_embeddings: true } },
  { name: 'Qwen3-0.6B', hf: qwen3({ hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8 }) },
  { name: 'Llama-3.2-1B', hf: llama({ ...llama32, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8 }) },
  { name: 'Qwen3-1.7B', hf: qwen3({ hidden_size: 2048, intermediate_size: 6144, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8 }) },
  { name: 'Llama-3.2-3B', hf: llama({ ...llama32, head_dim: 128, hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 28, num_attention_heads: 24, num_key_value_heads: 8 }) },
];

const STORAGES: WeightStorage[] = ['bf16', 'q8', 'q4'];
const BATCHES: [number, number][] = [[1, 512], [4, 512]];
const LORA = { targetModules: DEFAULT_LORA.targetModules, dropout: 0 };
const GiB = 2 ** 30;
const gib = (b: number) => Number((b / GiB).toFixed(3));

/**
 * PyTorch + PEFT for the same LoRA run, by arithmetic (a floor: no CUDA context, ~0.3-0.5 GiB, and no allocator
 * slack). Base: bf16 (2 B a weight) or bitsandbytes NF4 with double quantisation on the linears (~4.13 bits), the
 * embedding and head bf16 as bitsandbytes leaves them (so q8 is LLM.int8: 1 B + a scale per row, ~1 B). LoRA A/B,
 * their grads and Adam moments f32 (16 B each). Activations bf16: with gradient checkpointing, each layer's input
 * plus one layer's saved set; without, every layer's. transformers' loss upcasts the [N, V] logits to f32: bf16
 * logits, f32 logits and their f32 gradient alive at once (10 B per entry).
 */
function pytorchBytes(c: ModelConfig, storage: WeightStorage, N: number, checkpointing: boolean): number {
  const { hiddenSize: C, intermediateSize: I, vocabSize: V, numLayers: L, numHeads, numKvHeads, headDim } = c;
  const embed = V * C;
  const linears = parameterCount(c) - embed - (c.tieWordEmbeddings ? 0 : embed);
  const perWeight = { f32: 4, bf16: 2, f16: 2, q8: 1, q4: 4.127 / 8 }[storage];
  const base = linears * perWeight + (c.tieWordEmbeddings ? 1 : 2) * embed * 2;
  const q = numHeads * headDim, kv = numKvHeads * headDim;
  const lora = L * DEFAULT_LORA.rank * ((C + q) * 2 + (C + kv) * 2) * 16;
  // What a Llama-style layer keeps for backward: norm outputs, q/k/v, rotated q/k, attention out, o, MLP gate/up/act.
  const layer = N * (4 * C + 3 * q + 3 * kv + 3 * I) * 2;
  const acts = checkpointing ? L * N * C * 2 + layer : L * layer;
  return base + lora + acts + N * V * 10;
}

function randomFill(out: Float32Array, seed: number, std: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 2 ** 32 - 0.5) * 3.4641 * std;   // uniform with the given standard deviation
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--live-max-params');
  const liveMax = at >= 0 ? Number(argv[at + 1]) : 0.6e9;
  await installNodeWebGPU();
  const gpu = await createGpu();
  const results = [];
  for (const m of MODELS) {
    const config = configFromHf(m.hf, `${m.name}/config.json`);
    const params = parameterCount(config);
    const modes = [];
    for (const weights of STORAGES) {
      for (const checkpointing of [false, true]) {
        for (const [B, T] of BATCHES) {
          const e = estimateMemory(config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: B * T, lora: LORA, checkpointing, weights });
          modes.push({ weights, checkpointing, batch: `${B}x${T}`, estimatedBytes: e.trainingBytes, estimatedGiB: gib(e.trainingBytes), weightsBytes: e.weightsBytes, pytorchPeftGiB: gib(pytorchBytes(config, weights, B * T, checkpointing)) });
        }
      }
    }
    const live = [];
    if (params <= liveMax) {
      for (const weights of STORAGES) {
        gpu.trimPool();
        const before = gpu.liveBytes;
        const t0 = performance.now();
        const shapes = expectedWeights(config);
        const net = new Transformer(gpu, config, new Map([...shapes].map(([n, shape]) => [n, { shape, data: null }])), { kind: 'lora', lora: DEFAULT_LORA }, 0, {}, weights);
        let seed = 1;
        for (const [name, shape] of shapes) {
          const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
          randomFill(data, seed++, shape.length === 2 ? 0.02 : 1);
          net.params.write(name, data);
        }
        await gpu.read(net.params.get(net.params.trainableNames()[0]));   // every upload landed
        const loadSeconds = (performance.now() - t0) / 1000;
        const measured = gpu.liveBytes - before;
        const e = estimateMemory(config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: 512, lora: LORA, weights });
        live.push({ weights, modelBytes: measured, estimatedModelBytes: e.weightsBytes + e.loraBytes, loadSeconds: Number(loadSeconds.toFixed(1)), hostRssBytes: process.memoryUsage().rss });
        net.destroy();
        gpu.trimPool();
        process.stderr.write(`${m.name} ${weights}: ${gib(measured)} GiB live (estimate ${gib(e.weightsBytes + e.loraBytes)}), ${loadSeconds.toFixed(1)} s\n`);
      }
    }
    results.push({ model: m.name, parameters: params, modes, live, liveNote: params <= liveMax ? 'model built on the GPU in each storage' : `estimate only: over --live-max-params ${liveMax}` });
  }
  process.stdout.write(`${JSON.stringify({
    adapter: gpu.isSoftware ? 'SwiftShader (software; its GPU memory is host memory)' : 'hardware',
    lora: { rank: DEFAULT_LORA.rank, targets: DEFAULT_LORA.targetModules },
    note: 'estimatedBytes: src/io/hf.ts estimateMemory (tested 1.01-1.15x of live bytes after a step); live.modelBytes: the model built here; pytorchPeftGiB: arithmetic, see scripts/scale.ts',
    results,
  }, null, 1)}\n`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
