// ONNX export of a merged Llama and GPT-2 (tiny folders with a random non-zero LoRA), run by onnxruntime-web's
// wasm backend in Node: the prompt's logits match our engine's LoRA model (1e-4 relative), and one more step
// through the KV-cache inputs (past_key_values.* fed from present.*) matches our logits for the longer
// sequence's last position, so the transformers.js generation loop gets the same next tokens.
// The variant with LoRA A/B as graph inputs: our adapter's tensors give the tuned logits, B = 0 the base
// model's, and another adapter of another rank its own logits, all in one session.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnxModel } from '../../src/export/onnx';
import { onnxLoraOf } from '../../src/generate/onnx-graph';
import { Transformer } from '../../src/model/transformer';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';
import { tunedTiny } from '../helpers/tuned-model';
import { logitsOf } from '../helpers/model';


const i64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

function emptyPast(c: { numLayers: number; numKvHeads: number; headDim: number }): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < c.numLayers; l++) for (const kv of ['key', 'value']) {
    feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, c.numKvHeads, 0, c.headDim]);
  }
  return feeds;
}

describe('ONNX export (transformers.js layout)', () => {
  for (const kind of ['llama-small', 'gpt2'] as const) it(`${kind} merged: gives our next-token logits in onnxruntime-web (wasm), with and without the KV cache`, async () => {
    const gpu = await testGpu();
    const { source, base, model } = await tunedTiny(4, 9, kind);
    const files = await exportOnnxModel(model, source);
    expect([...files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    // transformers.js picks onnx/model.onnx (fp32) by this, also where its default would be a quantised file
    expect(JSON.parse(new TextDecoder().decode(files.get('config.json')!))['transformers.js_config']).toEqual({ dtype: 'fp32' });

    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(files.get('onnx/model.onnx')!, { executionProviders: ['wasm'] });
    const c = base.config;
    const ids = [5, 77, 140, 3, 250, 12, 99];
    const S = ids.length, V = c.vocabSize;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(ids, [1, S]), attention_mask: i64(ids.map(() => 1), [1, S]), position_ids: i64(ids.map((_, i) => i), [1, S]), ...emptyPast(c),
    };
    const out = await session.run(feeds);
    const ours = await logitsOf(model, ids);
    expect(out.logits.dims).toEqual([1, S, V]);
    const err = relMax(out.logits.data as Float32Array, ours);
    console.log(`${kind} ONNX prompt logits rel err ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);

    // one cached step
    const next = 42;
    const step: Record<string, ort.Tensor> = {
      input_ids: i64([next], [1, 1]), attention_mask: i64([...ids, next].map(() => 1), [1, S + 1]), position_ids: i64([S], [1, 1]),
    };
    for (let l = 0; l < c.numLayers; l++) for (const kv of ['key', 'value']) {
      expect(out[`present.${l}.${kv}`].dims).toEqual([1, c.numKvHeads, S, c.headDim]);
      step[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
    }
    const out2 = await session.run(step);
    const full = await logitsOf(model, [...ids, next]);
    const err2 = relMax(out2.logits.data as Float32Array, full.subarray(S * V));
    console.log(`${kind} ONNX cached-step logits rel err ${err2.toExponential(2)}`);
    expect(err2).toBeLessThan(1e-4);
    // and the adapter is in it: the base model's logits differ
    const plain = new Transformer(gpu, c, base.weights, { kind: 'none' });
    expect(relMax(await logitsOf(plain, ids), ours)).toBeGreaterThan(1e-2);
    plain.destroy();
    await session.release();
    model.destroy();
  });

  it('LoRA as graph inputs: one session gives the tuned model, the base (B = 0) and another adapter of another rank', async () => {
    const gpu = await testGpu();
    const { source, base, model } = await tunedTiny(4, 9);
    const files = await exportOnnxModel(model, source, { lora: 'inputs' });
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(files.get('onnx/model.onnx')!, { executionProviders: ['wasm'] });
    const c = base.config;
    const ids = [9, 31, 200, 7, 64];
    const S = ids.length;
    const prompt = { input_ids: i64(ids, [1, S]), attention_mask: i64(ids.map(() => 1), [1, S]), position_ids: i64(ids.map((_, i) => i), [1, S]), ...emptyPast(c) };
    const adapterFeeds = async (m: Transformer, zeroB = false): Promise<Record<string, ort.Tensor>> => {
      const lora = await onnxLoraOf(m);
      const feeds: Record<string, ort.Tensor> = { lora_scale: new ort.Tensor('float32', Float32Array.of(lora.scale), []) };
      for (const [name, { shape, data }] of lora.tensors) {
        feeds[name] = new ort.Tensor('float32', zeroB && name.endsWith('.lora_B.weight') ? new Float32Array(data.length) : data, shape);
      }
      return feeds;
    };
    const run = async (feeds: Record<string, ort.Tensor>) => (await session.run({ ...prompt, ...feeds })).logits.data as Float32Array;

    const tunedErr = relMax(await run(await adapterFeeds(model)), await logitsOf(model, ids));
    const plain = new Transformer(gpu, c, base.weights, { kind: 'none' });
    const baseLogits = await logitsOf(plain, ids);
    plain.destroy();
    const baseErr = relMax(await run(await adapterFeeds(model, true)), baseLogits);
    const other = await tunedTiny(2, 23);
    const otherErr = relMax(await run(await adapterFeeds(other.model)), await logitsOf(other.model, ids));
    console.log(`ONNX LoRA inputs: tuned ${tunedErr.toExponential(2)}, base ${baseErr.toExponential(2)}, rank-2 adapter ${otherErr.toExponential(2)}`);
    expect(tunedErr).toBeLessThan(1e-4);
    expect(baseErr).toBeLessThan(1e-4);
    expect(otherErr).toBeLessThan(1e-4);
    expect(relMax(baseLogits, await logitsOf(model, ids))).toBeGreaterThan(1e-2);
    await session.release();
    other.model.destroy();
    model.destroy();
  });
});
