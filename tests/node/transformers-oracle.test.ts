// The transformers oracle on its own (tests/oracle, no GPU: it runs in one project, not once per adapter), on every
// family of tests/helpers/hf-families.ts: transformers' and PEFT's own ways of computing the same thing agree
// (float64; the model's own loss is computed in float32, hence 1e-5), the LoRA matters, and cached, uncached and
// model.generate greedy decoding give the same tokens. For the families the engine loads, its expected weight table
// (the descriptor's, src/model/arch) is transformers' parameter table. tests/node/parity.test.ts compares the engine
// with this oracle.
import { describe, expect, it } from 'vitest';
import { configFromHf, expectedWeights } from '../../src/io/hf';
import { FAMILIES } from '../helpers/hf-families';
import { transformersSelfCheck } from '../helpers/transformers';

const GREEDY_STEPS = 8;

describe('the transformers oracle, alone', () => {
  it('agrees with itself on a random model of every family', () => {
    const checks = transformersSelfCheck(FAMILIES.map((f) => ({
      config: f.config, lora: { targets: f.loraTargets, r: 4, alpha: 8, rslora: f.name.startsWith('gemma3') }, ids: [5, 17, 99, 230, 4, 8, 150, 42, 7, 199, 1], steps: GREEDY_STEPS,
    })));
    FAMILIES.forEach((f, i) => {
      const s = checks[i];
      console.log(`oracle ${f.name}: ${JSON.stringify(s.errors)} loraEffect ${s.loraEffect.toFixed(3)} tokens ${s.tokens.join(',')} config ${JSON.stringify(s.config)}`);
      expect(s.errors.loss, `${f.name} loss`).toBeLessThan(1e-5);
      expect(s.errors.loraZeroB, `${f.name} LoRA with B = 0`).toBe(0);
      expect(s.errors.loraMerged, `${f.name} LoRA merged`).toBeLessThan(1e-10);
      expect(s.errors.reload, `${f.name} reload`).toBe(0);
      expect(s.loraEffect, `${f.name} LoRA effect`).toBeGreaterThan(1e-2);
      expect(s.tokensNoCache, `${f.name} uncached`).toEqual(s.tokens);
      expect(s.tokensGenerate, `${f.name} generate`).toEqual(s.tokens);
      // PEFT wraps every linear whose name ends in a target (GPT-2's 'c_proj' is attn.c_proj and mlp.c_proj)
      const linears = Object.entries(s.weights).filter(([n, shape]) => shape.length === 2 && n.endsWith('.weight') && !/embed|wte|wpe/.test(n)).map(([n]) => n.slice(0, -'.weight'.length));
      expect(s.loraModules, `${f.name} LoRA modules`).toEqual(linears.filter((m) => f.loraTargets.includes(m.split('.').at(-1)!)).sort());
      // the engine's weight table for the config is transformers' parameter table, name for name and shape for shape
      expect(Object.fromEntries(expectedWeights(configFromHf(f.config))), `${f.name} weight table`).toEqual(s.weights);
    });
  }, 300_000);
});
