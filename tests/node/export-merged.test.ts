// Merged model export, proven two ways on tiny Hugging Face folders (llama-small, and GPT-2 with its
// un-prefixed names and Conv1D weights):
//  1. every merged weight equals base + scale·B·A (the transpose for Conv1D), computed here independently
//     (loops in another order, float64) from the base file and the adapter: bit for bit in f32;
//     untouched tensors are copied bit for bit;
//  2. the folder loads back through loadHfModel into a plain (mode none) Transformer whose logits match the
//     LoRA model's: 1e-5 relative in f32, 5e-3 in f16 (sharded), 3e-2 in bf16 (measured values beside them).
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { exportMergedModel } from '../../src/export/merged';
import { loadHfModel } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { parseSafetensors, readTensor } from '../../src/io/safetensors';
import { loraNames } from '../../src/model/linear';
import { loraScale, type LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';
import { logitsOf } from '../helpers/model';


/** A LoRA model on the tiny folder with random (non-zero) A and B, as after training. */
async function tunedModel(kind: 'llama-small' | 'gpt2', lora: LoraConfig) {
  const gpu = await testGpu();
  const source = filesFromMap(`tiny-${kind}`, buildTinyModel(kind, 3));
  const base = await loadHfModel(source);
  const model = new Transformer(gpu, base.config, base.weights, { kind: 'lora', lora }, 5);
  const r = rng(11);
  const adapter = new Map<string, Float32Array>();
  for (const name of model.params.trainableNames()) {
    const shape = model.params.specs.get(name)!.shape;
    const data = Float32Array.from({ length: shape[0] * shape[1] }, () => (r() * 2 - 1) * 0.3);
    gpu.write(model.params.get(name), data);
    adapter.set(name, data);
  }
  return { gpu, source, base, model, adapter };
}

const cases: { kind: 'llama-small' | 'gpt2'; lora: LoraConfig }[] = [
  { kind: 'llama-small', lora: { rank: 4, alpha: 8, dropout: 0.1, useRslora: false, targetModules: ['q_proj', 'k_proj', 'o_proj', 'down_proj'] } },
  { kind: 'gpt2', lora: { rank: 2, alpha: 3, dropout: 0, useRslora: true, targetModules: ['c_attn', 'c_proj', 'c_fc'] } },
];

describe('merged model export', () => {
  for (const { kind, lora } of cases) {
    it(`${kind}: merged weights are base + s·B·A exactly, and the folder loads back with the tuned logits`, async () => {
      const { gpu, source, base, model, adapter } = await tunedModel(kind, lora);
      const ids = Array.from({ length: 12 }, (_, i) => (i * 37 + 5) % 250);
      const tuned = await logitsOf(model, ids);
      const s = loraScale(lora);

      const files = await exportMergedModel(model, source);
      expect([...files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!));
      expect(config.torch_dtype).toBe('float32');
      expect(files.get('tokenizer.json')).toEqual(await source.read('tokenizer.json'));
      expect(files.get('generation_config.json')).toEqual(await source.read('generation_config.json'));

      // 1. merged = base + s·B·A, from the source file's own tensors (GPT-2's un-prefixed names included)
      const baseFile = parseSafetensors(await source.read('model.safetensors'), 'base');
      const merged = parseSafetensors(files.get('model.safetensors')!, 'merged');
      const baseName = (name: string) => (kind === 'gpt2' ? name.replace(/^transformer\./, '') : name);
      let mergedCount = 0;
      for (const name of merged.tensors.keys()) {
        const got = readTensor(merged, name).data as Float32Array;
        const orig = readTensor(baseFile, baseName(name));
        const module = name.replace(/\.weight$/, '');
        const { A, B } = loraNames(module);
        if (!adapter.has(A)) {
          expect(got, name).toEqual(orig.data);
          continue;
        }
        mergedCount++;
        const a = adapter.get(A)!, b = adapter.get(B)!;
        const r = lora.rank, inF = a.length / r, outF = b.length / r;
        const W = orig.data as Float32Array;
        const want = new Float32Array(W.length);
        // k outermost (the export loops k innermost): same sums, another order of the loops around them
        const delta = new Float64Array(inF * outF);
        for (let k = 0; k < r; k++) for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) delta[o * inF + i] += b[o * r + k] * a[k * inF + i];
        for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) {
          const at = kind === 'gpt2' ? i * outF + o : o * inF + i; // Conv1D stores [in, out]
          want[at] = W[at] + s * delta[o * inF + i];
        }
        expect(got, name).toEqual(want);
        expect(relMax(got, W)).toBeGreaterThan(1e-3); // the adapter really changed it
      }
      expect(mergedCount).toBe(adapter.size / 2);
      expect(merged.tensors.size).toBe(model.params.specs.size - adapter.size);

      // 2. loads back through loadHfModel; the plain model gives the tuned logits
      // measured: f32 ~3.6e-7, f16 ~1.2e-3, bf16 ~6e-3..1.2e-2 (8 mantissa bits)
      const bounds = { F32: 1e-5, F16: 5e-3, BF16: 3e-2 } as const;
      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        const out = dtype === 'F32' ? files : await exportMergedModel(model, source, { dtype, maxShardBytes: dtype === 'F16' ? 40_000 : undefined });
        if (dtype === 'F16') expect(out.has('model.safetensors.index.json') && !out.has('model.safetensors')).toBe(true);
        const loaded = await loadHfModel(filesFromMap(`merged-${dtype}`, out));
        expect(loaded.config).toEqual(base.config);
        expect(loaded.tokenizer.vocabSize).toBe(base.tokenizer.vocabSize);
        const plain = new Transformer(gpu, loaded.config, loaded.weights, { kind: 'none' });
        const err = relMax(await logitsOf(plain, ids), tuned);
        plain.destroy();
        console.log(`${kind} merged ${dtype}: logits rel err ${err.toExponential(2)}`);
        expect(err, dtype).toBeLessThan(bounds[dtype]);
      }
      // the adapter matters: the base model is far from the tuned logits
      const plainBase = new Transformer(gpu, base.config, base.weights, { kind: 'none' });
      expect(relMax(await logitsOf(plainBase, ids), tuned)).toBeGreaterThan(1e-2);
      plainBase.destroy();
      model.destroy();
    });
  }

  it('refuses a source folder of another model type', async () => {
    const { model } = await tunedModel('llama-small', cases[0].lora);
    const gpt2 = filesFromMap('tiny-gpt2', buildTinyModel('gpt2', 3));
    await expect(exportMergedModel(model, gpt2)).rejects.toThrow(/model_type gpt2 is not the loaded model's llama/);
    model.destroy();
  });
});
