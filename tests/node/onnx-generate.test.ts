// Generation over onnxruntime-web (wasm, in Node) through the same loop as our engine (src/generate):
// the ONNX export of a LoRA-tuned tiny Llama and GPT-2 gives the same greedy tokens and the same seeded
// sampled tokens as our WebGPU Transformer; the 'inputs' export serves the tuned model and the base (B = 0)
// from one session. Same tokens is the contract: the logits agree to ~1e-6 relative (export-onnx.test.ts),
// far below the gaps between a row's top logits here, so any loop or cache bug changes the tokens.
// checkOnnxExport (the studio's check) passes a right export, fails another model's, and reports the speed
// of both backends (printed: tokens/s of ORT wasm vs our engine on this machine's adapter; not asserted).
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnxModel } from '../../src/export/onnx';
import { onnxGraph, onnxLoraOf } from '../../src/generate/onnx-graph';
import { checkOnnxExport, ONNX_CHECK_RTOL } from '../../src/export/onnx-check';
import { generateAll, type GenerateOptions } from '../../src/generate/generate';
import { OnnxDecoder } from '../../src/generate/onnx-decoder';
import { GREEDY } from '../../src/generate/sampler';
import { loadHfModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { testGpu } from '../helpers/gpu';
import { withRandomLora } from '../helpers/random-lora';
import { tunedTiny } from '../helpers/tuned-model';

ort.env.wasm.numThreads = 1;
const PROMPT = [5, 77, 140, 3, 250, 12, 99];
const greedy: GenerateOptions = { ...GREEDY, maxNewTokens: 16, stopTokenIds: [], stopStrings: [] };
const sampled: GenerateOptions = { ...greedy, temperature: 1, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 7 };

describe('generation on onnxruntime-web (wasm) with our loop', () => {
  for (const kind of ['llama-small', 'gpt2'] as const) it(`${kind} merged export: same greedy and seeded sampled tokens as our engine`, async () => {
    const { source, base, model } = await tunedTiny(4, 9, kind);
    const files = await exportOnnxModel(model, source);
    const onnx = await OnnxDecoder.create(ort, files.get('onnx/model.onnx')!, base.config);
    for (const opts of [greedy, sampled]) {
      const ours = await generateAll(model, PROMPT, opts);
      const theirs = await generateAll(onnx, PROMPT, opts);
      expect(theirs.tokens).toEqual(ours.tokens);
      expect(ours.tokens).toHaveLength(opts.maxNewTokens);
    }
    // a stop token ends both at the same place (the loop, not the backend, decides)
    const stopAt = (await generateAll(model, PROMPT, greedy)).tokens[5];
    const stopped = await generateAll(onnx, PROMPT, { ...greedy, stopTokenIds: [stopAt] });
    expect(stopped.finishReason).toBe('stop-token');
    expect(stopped.tokens).toEqual((await generateAll(model, PROMPT, { ...greedy, stopTokenIds: [stopAt] })).tokens);
    await onnx.release();
    model.destroy();
  });

  it("'inputs' export: one session generates as the tuned model and, with no adapter, as the base", async () => {
    const gpu = await testGpu();
    const { source, base, model } = await tunedTiny(4, 9);
    const files = await exportOnnxModel(model, source, { lora: 'inputs' });
    const session = await OnnxDecoder.create(ort, files.get('onnx/model.onnx')!, base.config);
    expect(session.takesLora).toBe(true);
    const plain = new Transformer(gpu, base.config, base.weights, { kind: 'none' });

    const tunedOurs = await generateAll(model, PROMPT, greedy);
    const baseOurs = await generateAll(plain, PROMPT, greedy);
    expect(baseOurs.tokens).not.toEqual(tunedOurs.tokens);   // the adapter matters, so the check has teeth
    expect((await generateAll(session.withAdapter(await onnxLoraOf(model)), PROMPT, greedy)).tokens).toEqual(tunedOurs.tokens);
    expect((await generateAll(session, PROMPT, greedy)).tokens).toEqual(baseOurs.tokens);

    // a merged export takes no adapter: a clear error, not silently the merged model
    const merged = await OnnxDecoder.create(ort, (await exportOnnxModel(model, source)).get('onnx/model.onnx')!, base.config);
    await expect(async () => merged.withAdapter(await onnxLoraOf(model))).rejects.toThrow(/LoRA merged in/);
    await merged.release();
    await session.release();
    plain.destroy();
    model.destroy();
  });

  it('refuses an ONNX file that is not a KV-cache text-generation export of this model', async () => {
    const { base, model } = await tunedTiny(1, 1);
    const identity = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 17 }],
      graph: {
        name: 'identity', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }],
      },
    })).finish();
    await expect(OnnxDecoder.create(ort, identity, base.config)).rejects.toThrow(/not a text-generation export.*input_ids/);
    // nor the export of another model
    await expect(OnnxDecoder.create(ort, await onnxGraph(model), { ...base.config, numLayers: 3 })).rejects.toThrow(/2 layers but the model config has 3/);
    model.destroy();
  });
});

describe('checkOnnxExport', () => {
  it('passes the export of the model, fails the export of another, for merged and LoRA-input exports', async () => {
    const gpu = await testGpu();
    const { base, model } = await tunedTiny(4, 9);
    const merged = await checkOnnxExport(ort, model, await onnxGraph(model), PROMPT, { decodeSteps: 8 });
    expect(merged).toMatchObject({ ok: true, sameArgmax: true, sameTokens: true });
    expect(merged.maxRelDiff).toBeLessThan(ONNX_CHECK_RTOL);
    const inputs = await checkOnnxExport(ort, model, await onnxGraph(model, { lora: 'inputs' }), PROMPT, { decodeSteps: 8 });
    expect(inputs.ok).toBe(true);
    // the base model's export is not the tuned model
    const plain = new Transformer(gpu, base.config, base.weights, { kind: 'none' });
    const wrong = await checkOnnxExport(ort, model, await onnxGraph(plain), PROMPT, { decodeSteps: 8 });
    expect(wrong.ok).toBe(false);
    expect(wrong.maxRelDiff).toBeGreaterThan(1e-2);
    plain.destroy();
    model.destroy();
  });

  it('measures greedy decoding speed of both backends (printed, not asserted)', async () => {
    const source = filesFromDirectory('public/models/default', 'default');
    const def = await loadHfModel(source);
    const cases = [
      { name: 'built-in model (LoRA r8 merged)', ...(await withRandomLora(def, 8, 5, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])), ids: def.tokenizer.encode('Calder lives in Tarn. Calder is a', { addSpecialTokens: true }) },
      { name: 'tiny llama (LoRA r4 merged)', ...(await tunedTiny(4, 9)), ids: PROMPT },
    ];
    for (const c of cases) {
      const r = await checkOnnxExport(ort, c.model, await onnxGraph(c.model), c.ids, { decodeSteps: 32 });
      console.log(`${c.name}: ORT wasm ${r.ortTokensPerSecond.toFixed(1)} tok/s vs engine ${r.engineTokensPerSecond.toFixed(1)} tok/s `
        + `(prompt of ${c.ids.length}: ${r.ortMs.toFixed(1)} ms vs ${r.engineMs.toFixed(1)} ms); max rel diff ${r.maxRelDiff.toExponential(2)}, faster: ${r.faster}`);
      expect(r.ok).toBe(true);
      c.model.destroy();
    }
  });
});
