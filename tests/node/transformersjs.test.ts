// The ONNX export in use by the ecosystem: @huggingface/transformers (transformers.js 4, onnxruntime-node on
// the CPU in Node) loads the exported folder with pipeline('text-generation') from disk, no network, with no
// dtype given (config.json's transformers.js_config picks onnx/model.onnx), and its greedy generation gives
// the same token ids and the same text as our engine's on the same prompt: the built-in model and tiny
// Llama / GPT-2 folders, each with a random non-zero LoRA merged in. Both stop at generation_config's EOS ids.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { env, pipeline, Tensor, type TextGenerationPipeline } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnxModel } from '../../src/export/onnx';
import { generateAll } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { loadHfModel, type LoadedModel } from '../../src/io/hf';
import type { ModelFiles } from '../../src/io/model-files';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { withRandomLora } from '../helpers/random-lora';
import { tunedTiny } from '../helpers/tuned-model';

env.allowRemoteModels = false;   // a lookup on the hub would be a bug: the folder must be complete
env.useFSCache = false;

const NEW_TOKENS = 12;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function writeExport(model: Transformer, source: ModelFiles): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-export-'));
  dirs.push(dir);
  for (const [name, bytes] of await exportOnnxModel(model, source)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return dir;
}

/** Greedy with a repetition penalty (same rule in both): the random tiny GPT-2 otherwise repeats one token. */
async function compare(model: Transformer, base: LoadedModel, source: ModelFiles, prompt: string, repetitionPenalty = 1): Promise<number[]> {
  const dir = await writeExport(model, source);
  const gen = await pipeline('text-generation', dir, { local_files_only: true }) as TextGenerationPipeline;
  const eos = [(base.generationConfig as { eos_token_id?: number | number[] } | null)?.eos_token_id ?? []].flat();

  const ids = base.tokenizer.encode(prompt, { addSpecialTokens: true });
  expect(Array.from(gen.tokenizer.encode(prompt), Number)).toEqual(ids);
  const ours = await generateAll(model, ids, {
    ...GREEDY, repetitionPenalty, maxNewTokens: NEW_TOKENS, stopTokenIds: eos, stopStrings: [], decode: (x) => base.tokenizer.decode(x, { skipSpecialTokens: true }),
  });
  const output = await gen.model.generate({
    inputs: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]), max_new_tokens: NEW_TOKENS, do_sample: false, repetition_penalty: repetitionPenalty,
  }) as Tensor;
  const theirs = Array.from(output.data as BigInt64Array, Number).slice(ids.length);
  console.log(`${source.name}: ours ${ours.tokens.join(' ')} | transformers.js ${theirs.join(' ')}`);
  expect(theirs).toEqual(ours.tokens);

  // and the pipeline's own text (prompt + answer, special tokens skipped)
  const [out] = await gen(prompt, { max_new_tokens: NEW_TOKENS, do_sample: false, repetition_penalty: repetitionPenalty }) as { generated_text: string }[];
  expect(out.generated_text).toBe(base.tokenizer.decode([...ids, ...ours.tokens], { skipSpecialTokens: true }));
  await gen.dispose();
  return ours.tokens;
}

describe('transformers.js loads the ONNX export and generates what our engine generates', () => {
  it('the built-in model with a LoRA merged in', async () => {
    const source = filesFromDirectory('public/models/default', 'default');
    const base = await loadHfModel(source);
    const { model } = await withRandomLora(base, 4, 17, ['q_proj', 'v_proj', 'o_proj', 'down_proj']);
    const ours = await compare(model, base, source, 'Calder lives in');
    // the adapter changes the answer, so an export that dropped it would fail above
    const plain = new Transformer(model.gpu, base.config, base.weights, { kind: 'none' });
    const ids = base.tokenizer.encode('Calder lives in', { addSpecialTokens: true });
    expect((await generateAll(plain, ids, { ...GREEDY, maxNewTokens: NEW_TOKENS, stopTokenIds: [], stopStrings: [] })).tokens).not.toEqual(ours);
    plain.destroy();
    model.destroy();
  });

  for (const kind of ['llama-small', 'gpt2'] as const) it(`tiny ${kind} with a LoRA merged in`, async () => {
    const { source, base, model } = await tunedTiny(4, 9, kind);
    await compare(model, base, source, 'The quick brown fox', 1);
    await compare(model, base, source, 'The quick brown fox', 1.5);
    model.destroy();
  });
});
