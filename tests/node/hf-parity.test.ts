// Models loaded from Hugging Face folders (the committed tiny llama-small and GPT-2 fixtures, and a Qwen2
// folder with q/k/v biases written by the tiny-model script) through loadHfModel: prompt logits and greedy
// generation (our KV-cache path) match transformers itself loading the same folder (tests/oracle/greedy.py:
// AutoModelForCausalLM.from_pretrained, float64, eager attention, every weight used). Tolerance: logits 2e-5
// relative to the largest |logit|; greedy tokens identical.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { generateAll } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { loadHfModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';
import { transformersGreedy } from '../helpers/transformers';
import { logitsOf } from '../helpers/model';

const tmp = mkdtempSync(join(tmpdir(), 'hf-parity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FIXTURES = join(__dirname, '..', 'fixtures', 'models');
const STEPS = 8;

describe('HF folders: logits and greedy generation match transformers', () => {
  for (const kind of ['llama-small', 'gpt2', 'qwen2'] as const) {
    it(kind, async () => {
      let dir = join(FIXTURES, kind);
      if (kind === 'qwen2') { dir = join(tmp, kind); makeTinyModel(kind, dir, 1); }
      const m = await loadHfModel(filesFromDirectory(dir));
      const gpu = await testGpu();
      const model = new Transformer(gpu, m.config, m.weights, { kind: 'none' });
      const ids = m.tokenizer.encode('The quick brown fox jumps over', { addSpecialTokens: false });

      const logits = await logitsOf(model, ids);
      const ours = await generateAll(model, ids, { ...GREEDY, maxNewTokens: STEPS, stopTokenIds: [], stopStrings: [] });

      const ref = transformersGreedy(dir, ids, STEPS);
      const err = relMax(logits, ref.logits);
      console.log(`hf-parity ${kind}: logits ${err.toExponential(2)}, tokens ${ours.tokens.join(',')}`);
      expect(err).toBeLessThan(2e-5);
      expect(ours.tokens).toEqual(ref.tokens);
      model.destroy();
    });
  }
});
