// Our PEFT adapter export (src/export/peft.ts) in real PEFT, for every family of tests/helpers/hf-families.ts (Qwen3
// and Gemma 3 among them): a base folder (the family's config.json + model.safetensors of the random base weights), a LoRA
// trained a few steps by the engine and exported, then transformers' from_pretrained(base) +
// PeftModel.from_pretrained(adapter) (tests/oracle/peft_roundtrip.py, float64, eager) gives our greedy tokens (our
// KV cache) and our prompt logits. Tolerance: logits 2e-5 relative to the largest |logit| (measured: <= 8.5e-7); tokens identical; and the
// adapter matters (the base model's logits are far further away).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPeftAdapter } from '../../src/export/peft';
import { generateAll } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { configFromHf } from '../../src/io/hf';
import { writeSafetensors } from '../../src/io/safetensors';
import { initWeights } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_TRAIN, Trainer } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { FAMILIES } from '../helpers/hf-families';
import { relMax } from '../helpers/torch';
import { peftGreedy } from '../helpers/transformers';
import { logitsOf } from '../helpers/model';

const tmp = mkdtempSync(join(tmpdir(), 'peft-roundtrip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const STEPS = 8;


describe('our PEFT adapter in real PEFT', () => {
  for (const family of FAMILIES) {
    it(`${family.name}: PeftModel.from_pretrained gives our greedy tokens and logits`, async () => {
      const config = configFromHf(family.config);
      const gpu = await testGpu();
      const weights = initWeights(config, 21, 0.2, { normJitter: 0.1, biasStd: 0.1 });
      const lora = { rank: 4, alpha: 8, dropout: 0, useRslora: family.name === 'gpt2', targetModules: family.loraTargets };
      const model = new Transformer(gpu, config, weights, { kind: 'lora', lora }, 4);
      const r = rng(6);
      const data = [0, 1, 2].map(() => {
        const inputIds = Array.from({ length: 10 }, () => Math.floor(r() * config.vocabSize));
        return { inputIds, lossMask: inputIds.map(() => 1) };
      });
      const trainer = new Trainer(model, data, { ...DEFAULT_TRAIN, lr: 2e-2, maxSteps: 4, batchSize: 3 });
      while (!trainer.done) await trainer.step();

      const base = join(tmp, family.name, 'base'), adapter = join(tmp, family.name, 'adapter');
      mkdirSync(base, { recursive: true });
      mkdirSync(adapter, { recursive: true });
      writeFileSync(join(base, 'config.json'), JSON.stringify(family.config));
      writeFileSync(join(base, 'model.safetensors'), writeSafetensors([...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data })), { metadata: { format: 'pt' } }));
      const files = await exportPeftAdapter(model, base);
      writeFileSync(join(adapter, 'adapter_model.safetensors'), files['adapter_model.safetensors']);
      writeFileSync(join(adapter, 'adapter_config.json'), files['adapter_config.json']);

      const prompt = data[0].inputIds.slice(0, 6);
      const ours = await generateAll(model, prompt, { ...GREEDY, maxNewTokens: STEPS, stopTokenIds: [], stopStrings: [] });
      const tuned = await logitsOf(model, prompt);
      const peft = peftGreedy(base, adapter, prompt, STEPS);
      const err = relMax(tuned, peft.logits);
      console.log(`peft ${family.name}: logits ${err.toExponential(2)}, tokens ${ours.tokens.join(',')}`);
      expect(err).toBeLessThan(2e-5);
      expect(ours.tokens).toEqual(peft.tokens);
      const plain = new Transformer(gpu, config, weights, { kind: 'none' });
      expect(relMax(await logitsOf(plain, prompt), peft.logits)).toBeGreaterThan(100 * Math.max(err, 1e-7));
      plain.destroy();
      model.destroy();
    }, 120_000);
  }
});
