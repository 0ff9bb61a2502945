// The memory estimate that refuses models and runs (src/io/hf.ts estimateMemory) against what the engine
// really allocates: the bytes of every buffer the runtime holds (Gpu.liveBytes, pooled temporaries
// included, so at least the peak) after building a LoRA model and taking one training step, or after a
// prefill into a KV cache. The estimate must cover the measurement (a refusal relies on it never being
// low) and stay within 1.5× of it (so a run that fits is not refused). Node + Dawn on SwiftShader.
import { describe, expect, it } from 'vitest';
import { estimateMemory } from '../../src/io/hf';
import type { ModelConfig } from '../../src/model/config';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_TRAIN, Trainer } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const SLACK = 1.5;

function model(kind: 'llama' | 'gpt2' | 'qwen2', vocabSize: number): ModelConfig {
  return tinyConfig(kind, { vocabSize, hiddenSize: 128, intermediateSize: 384, numLayers: 3, numHeads: 4, numKvHeads: kind === 'gpt2' ? 4 : 2, headDim: 32, maxPositions: 256 });
}

function randomIds(n: number, V: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * V));
}

describe('memory estimate against measured allocations', () => {
  const runs = [
    { kind: 'llama', B: 4, T: 64, V: 2000, lora: { targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], dropout: 0.1 } },
    { kind: 'gpt2', B: 2, T: 128, V: 8000, lora: { targetModules: ['c_attn', 'attn.c_proj'], dropout: 0 } },
  ] as const;
  for (const { kind, B, T, V, lora } of runs) {
    it(`training ${kind}, ${B}×${T} tokens, vocabulary ${V}, LoRA on ${lora.targetModules.join(' ')}, dropout ${lora.dropout}: the estimate covers one step, within ${SLACK}×`, async () => {
      const gpu = await testGpu();
      gpu.trimPool();
      const config = model(kind, V);
      const before = gpu.liveBytes;
      const net = new Transformer(gpu, config, initWeights(config, 1, 0.2), { kind: 'lora', lora: { rank: 8, alpha: 16, useRslora: false, dropout: lora.dropout, targetModules: [...lora.targetModules] } }, 1);
      const data = Array.from({ length: B }, (_, i) => { const inputIds = randomIds(T + 1, V, i); return { inputIds, lossMask: inputIds.map(() => 1) }; });
      await new Trainer(net, data, { ...DEFAULT_TRAIN, batchSize: B, maxSeqLength: T, maxSteps: 1 }).step();
      const measured = gpu.liveBytes - before;
      const estimate = estimateMemory(config, { training: true, loraRank: 8, batchTokens: B * T, lora: { targetModules: [...lora.targetModules], dropout: lora.dropout } }).trainingBytes;
      console.log(`training ${kind} ${B}×${T} V=${V}: measured ${(measured / 2 ** 20).toFixed(2)} MiB, estimate ${(estimate / 2 ** 20).toFixed(2)} MiB`);
      expect(estimate).toBeGreaterThanOrEqual(measured);
      expect(estimate).toBeLessThanOrEqual(SLACK * measured);
      net.destroy();
    });
  }

  for (const kind of ['qwen2', 'gpt2'] as const) {
    it(`inference ${kind}: a prefill of 128 tokens into a KV cache, within ${SLACK}×`, async () => {
      const gpu = await testGpu();
      gpu.trimPool();
      const V = 4000, T = 128;
      const config = model(kind, V);
      const before = gpu.liveBytes;
      const net = new Transformer(gpu, config, initWeights(config, 2, 0.2), { kind: 'none' });
      const cache = net.createCache(1, T);
      net.release(net.forward({ B: 1, T, ids: Uint32Array.from(randomIds(T, V, 9)) }, { save: false, cache }));
      const measured = gpu.liveBytes - before;
      const estimate = estimateMemory(config, { training: false, loraRank: 0, batchTokens: T }).inferenceBytes;
      console.log(`inference ${kind} T=${T}: measured ${(measured / 2 ** 20).toFixed(2)} MiB, estimate ${(estimate / 2 ** 20).toFixed(2)} MiB`);
      expect(estimate).toBeGreaterThanOrEqual(measured);
      expect(estimate).toBeLessThanOrEqual(SLACK * measured);
      net.releaseCache(cache);
      net.destroy();
    });
  }
});
