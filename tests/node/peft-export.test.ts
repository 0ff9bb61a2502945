// PEFT adapter export, proven three ways:
//  1. an independent Python reader (tests/oracle/peft_check.py: safetensors parsed by the spec, merged by PEFT's
//     rules, run through the independent PyTorch model) reproduces our tuned logits (1e-4 relative);
//  2. a round trip (export, import onto a fresh model) gives bit-identical logits;
//  3. mismatched adapters are refused with clear errors.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig } from '../../src/export/peft';
import { parseSafetensors } from '../../src/io/safetensors';
import { initWeights, tinyConfig } from '../../src/model/init';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_TRAIN, Trainer } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax, TorchOracle } from '../helpers/torch';
import { logitsOf } from '../helpers/model';

const oracles: TorchOracle[] = [];
afterAll(() => oracles.forEach((o) => o.dispose()));

const cases: { kind: 'llama' | 'gpt2'; lora: LoraConfig }[] = [
  { kind: 'llama', lora: { rank: 4, alpha: 8, dropout: 0.05, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] } },
  { kind: 'gpt2', lora: { rank: 2, alpha: 4, dropout: 0, useRslora: true, targetModules: ['c_attn', 'c_proj'] } },
];


describe('PEFT adapter export', () => {
  for (const { kind, lora } of cases) {
    it(`${kind}: the exported adapter reproduces the tuned model in an independent reader, and round-trips`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(kind);
      const weights = initWeights(config, 21, 0.2);
      const model = new Transformer(gpu, config, weights, { kind: 'lora', lora }, 4);
      const r = rng(6);
      const data = [0, 1, 2].map(() => {
        const inputIds = Array.from({ length: 10 }, () => Math.floor(r() * config.vocabSize));
        return { inputIds, lossMask: inputIds.map(() => 1) };
      });
      const trainer = new Trainer(model, data, { ...DEFAULT_TRAIN, lr: 2e-2, maxSteps: 4, batchSize: 3 });
      while (!trainer.done) await trainer.step();
      const ids = data[0].inputIds;
      const tuned = await logitsOf(model, ids);

      const files = await exportPeftAdapter(model, `tiny-${kind}`);
      const cfg = JSON.parse(files['adapter_config.json']);
      expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: lora.rank, lora_alpha: lora.alpha, use_rslora: lora.useRslora, fan_in_fan_out: kind === 'gpt2', bias: 'none' });
      const st = parseSafetensors(files['adapter_model.safetensors'], 'adapter_model.safetensors');
      const keys = [...st.tensors.keys()];
      const first = kind === 'llama' ? 'base_model.model.model.layers.0.self_attn.q_proj' : 'base_model.model.transformer.h.0.attn.c_attn';
      expect(st.tensors.get(`${first}.lora_A.weight`)!.shape).toEqual([lora.rank, config.hiddenSize]);
      expect(st.tensors.get(`${first}.lora_B.weight`)!.shape).toEqual([kind === 'gpt2' ? 3 * config.hiddenSize : config.numHeads * config.headDim, lora.rank]);

      // 1. independent Python check
      const oracle = new TorchOracle();
      oracles.push(oracle);
      const adapterDir = join(oracle.dir, 'adapter');
      mkdirSync(adapterDir);
      writeFileSync(join(adapterDir, 'adapter_model.safetensors'), files['adapter_model.safetensors']);
      writeFileSync(join(adapterDir, 'adapter_config.json'), files['adapter_config.json']);
      oracle.writeManifest(weights, { config, ids });
      const py = oracle.run<{ logits: number[]; modules: string[] }>('peft_check.py', [adapterDir], 'peft.json');
      expect(py.modules.length * 2).toBe(keys.length);
      const err = relMax(tuned, py.logits);
      expect(err).toBeLessThan(1e-4);
      // and the adapter matters: the base logits differ from the tuned ones by far more than that
      const base = new Transformer(gpu, config, weights, { kind: 'none' });
      expect(relMax(await logitsOf(base, ids), py.logits)).toBeGreaterThan(100 * Math.max(err, 1e-7));
      base.destroy();

      // 2. round trip onto a fresh model
      const { lora: back } = loraFromPeftConfig(files['adapter_config.json']);
      const fresh = new Transformer(gpu, config, weights, { kind: 'lora', lora: back }, 999);
      applyPeftAdapter(fresh, files['adapter_model.safetensors']);
      expect(await logitsOf(fresh, ids)).toEqual(tuned);
      fresh.destroy();
      model.destroy();
    });
  }

  it('refuses adapters that do not fit the model', async () => {
    const gpu = await testGpu();
    const config = tinyConfig('llama');
    const weights = initWeights(config, 1);
    const lora: LoraConfig = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj'] };
    const model = new Transformer(gpu, config, weights, { kind: 'lora', lora });
    const files = await exportPeftAdapter(model, 'x');
    const other = new Transformer(gpu, config, weights, { kind: 'lora', lora: { ...lora, rank: 2 } });
    expect(() => applyPeftAdapter(other, files['adapter_model.safetensors'])).toThrow(/has shape \[4,32\] but this model needs \[2,32\]/);
    const wider = new Transformer(gpu, config, weights, { kind: 'lora', lora: { ...lora, targetModules: ['q_proj', 'v_proj'] } });
    expect(() => applyPeftAdapter(wider, files['adapter_model.safetensors'])).toThrow(/missing 4 LoRA tensors/);
    const narrower = new Transformer(gpu, config, weights, { kind: 'lora', lora: { ...lora, targetModules: ['k_proj'] } });
    expect(() => applyPeftAdapter(narrower, files['adapter_model.safetensors'])).toThrow(/does not match any LoRA module/);
    expect(() => loraFromPeftConfig('{"peft_type":"IA3"}')).toThrow(/not LORA/);
    expect(() => loraFromPeftConfig('not json')).toThrow(/adapter_config.json: not valid JSON/);
    for (const m of [model, other, wider, narrower]) m.destroy();
  });
});
