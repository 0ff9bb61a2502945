// The ONNX backend in Chromium, as the engine worker will run it: onnxruntime-web's wasm build, its .wasm
// resolved by Vite (`?url`, so it works in the dev server and in `vite build` output alike), one thread (the
// test page is not cross-origin isolated). The graph is exported in the page from the built-in model (fetched
// from the dev server's public/) with a random LoRA, and generates the same greedy tokens as our WebGPU engine
// on Chromium's adapter, through the same loop; the LoRA-input export serves tuned and base from one session.
import * as ort from 'onnxruntime-web/wasm';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { describe, expect, it } from 'vitest';
import { onnxGraph, onnxLoraOf } from '../../src/generate/onnx-graph';
import { checkOnnxExport } from '../../src/export/onnx-check';
import { generateAll, type GenerateOptions } from '../../src/generate/generate';
import { OnnxDecoder } from '../../src/generate/onnx-decoder';
import { GREEDY } from '../../src/generate/sampler';
import { loadHfModel } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { Transformer } from '../../src/model/transformer';
import { withRandomLora } from '../helpers/random-lora';

ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
ort.env.wasm.numThreads = 1;

async function builtInModel() {
  const names = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  const map = new Map<string, Uint8Array>();
  for (const name of names) {
    const r = await fetch(`/models/default/${name}`);
    if (!r.ok) throw new Error(`/models/default/${name}: HTTP ${r.status}`);
    map.set(name, new Uint8Array(await r.arrayBuffer()));
  }
  return loadHfModel(filesFromMap('default', map));
}

const greedy: GenerateOptions = { ...GREEDY, maxNewTokens: 16, stopTokenIds: [], stopStrings: [] };

describe('ONNX generation in Chromium (onnxruntime-web wasm)', () => {
  it('the built-in model with a LoRA: same greedy tokens as our WebGPU engine, merged and as LoRA inputs', async () => {
    const base = await builtInModel();
    const { model } = await withRandomLora(base, 4, 17, ['q_proj', 'v_proj', 'o_proj', 'down_proj']);
    const ids = base.tokenizer.encode('Calder lives in', { addSpecialTokens: true });
    const ours = await generateAll(model, ids, greedy);

    const merged = await OnnxDecoder.create(ort, await onnxGraph(model), base.config);
    expect((await generateAll(merged, ids, greedy)).tokens).toEqual(ours.tokens);
    await merged.release();

    const session = await OnnxDecoder.create(ort, await onnxGraph(model, { lora: 'inputs' }), base.config);
    expect((await generateAll(session.withAdapter(await onnxLoraOf(model)), ids, greedy)).tokens).toEqual(ours.tokens);
    const plain = new Transformer(model.gpu, base.config, base.weights, { kind: 'none' });
    const baseTokens = (await generateAll(plain, ids, greedy)).tokens;
    expect(baseTokens).not.toEqual(ours.tokens);
    expect((await generateAll(session, ids, greedy)).tokens).toEqual(baseTokens);
    await session.release();

    const check = await checkOnnxExport(ort, model, await onnxGraph(model), ids, { decodeSteps: 32 });
    console.log(`Chromium, built-in model: ORT wasm ${check.ortTokensPerSecond.toFixed(1)} tok/s vs engine ${check.engineTokensPerSecond.toFixed(1)} tok/s; max rel diff ${check.maxRelDiff.toExponential(2)}`);
    expect(check.ok).toBe(true);
    plain.destroy();
    model.destroy();
  });
});
