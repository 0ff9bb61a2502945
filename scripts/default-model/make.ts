// Regenerates the embedded default model and the sample datasets from one seed, with nothing fetched:
//   1. the invented world and its prose corpus (world.ts)
//   2. a byte-level BPE tokenizer trained on that corpus (bpe.ts), ChatML special tokens and template
//   3. a tiny Llama pretrained from scratch on the corpus in full-parameter mode with our own Trainer
//   4. public/models/default/ in Hugging Face layout, then public/samples/ (samples.ts)
//   5. a check that the folder loads through loadHfModel, as the studio loads it
//
// Usage: node scripts/run-gpu.mjs scripts/default-model/make.ts [--steps N] [--out DIR] [--samples DIR]
//        [--bench] (time a few steps and stop) [--no-samples] [--samples-only] (write public/samples/ and stop)
// The model never sees a question or a chat turn in pretraining: <|im_start|>/<|im_end|> exist only as
// (untrained) special tokens until LoRA SFT teaches the format.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGpu } from '../../src/gpu/runtime';
import { installNodeWebGPU } from '../../src/gpu/node';
import { loadHfModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { writeSafetensors } from '../../src/io/safetensors';
import type { ModelConfig } from '../../src/model/config';
import { initWeights } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { loadTokenizer } from '../../src/tokenize/tokenizer';
import type { Example } from '../../src/train/batch';
import { DEFAULT_TRAIN, Trainer, type TrainConfig } from '../../src/train/trainer';
import { trainBpe } from './bpe';
import { writeSamples } from './samples';
import { corpus, makeWorld, SEED } from './world';

export const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
// ChatML, with one difference: a space before each message's content. Byte-level BPE gives "Mira" and
// " Mira" different ids, and the corpus names people mid-text as " Mira"; with the space, the first word of
// an answer ("Mira lives in ...") is the same token as in the question, so the model can copy it.
export const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n ' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The model's shape: 147,776 parameters (0.6 MB), small enough to pretrain on a loaded 2-core SwiftShader in 15-40 min. */
export const MODEL = {
  merges: 300,            // BPE merges: with 256 bytes and 3 specials, 559 ids; the embedding is padded to 576
  hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, positions: 256,
};
/** Pretraining: packed windows of seq+1 tokens from the corpus, cosine LR; loss 6.4 → 0.39 (the floor is the
 *  corpus's own randomness: sentence order and which facts a document states). */
export const PRETRAIN = { docs: 8000, seq: 64, batch: 16, steps: 320, lr: 8e-3, warmup: 20 };

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Document stream "doc<|endoftext|>doc<|endoftext|>…" cut into windows of seq+1 tokens, all trained on. */
function packWindows(docIds: number[][], eot: number, seq: number): Example[] {
  const stream: number[] = [];
  for (const d of docIds) stream.push(...d, eot);
  const out: Example[] = [];
  for (let i = 0; i + seq + 1 <= stream.length; i += seq + 1) {
    const inputIds = stream.slice(i, i + seq + 1);
    out.push({ inputIds, lossMask: inputIds.map(() => 1) });
  }
  return out;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const outDir = arg('out') ?? 'public/models/default';
  const samplesDir = arg('samples') ?? 'public/samples';
  const steps = Number(arg('steps') ?? PRETRAIN.steps);
  const bench = process.argv.includes('--bench');
  const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);

  // 1. world and corpus
  const world = makeWorld(SEED);
  if (process.argv.includes('--samples-only')) {
    writeSamples(world, samplesDir);
    log(`wrote ${samplesDir}`);
    return;
  }
  const docs = corpus(world, SEED, PRETRAIN.docs);
  log(`corpus: ${docs.length} documents, ${docs.reduce((s, d) => s + d.length, 0)} characters`);

  // 2. tokenizer
  const bpe = trainBpe(docs, MODEL.merges, [...SPECIALS]);
  const vocabSize = Math.ceil(bpe.vocabSize / 64) * 64;
  const [endoftext, , imEnd] = SPECIALS.map((s) => bpe.specialIds[s]);
  const tokenizerConfig = {
    tokenizer_class: 'GPT2Tokenizer', bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', unk_token: null,
    model_max_length: MODEL.positions, clean_up_tokenization_spaces: false, add_bos_token: false, chat_template: CHATML,
    added_tokens_decoder: Object.fromEntries(SPECIALS.map((s) => [String(bpe.specialIds[s]), { content: s, special: true, lstrip: false, rstrip: false, normalized: false, single_word: false }])),
  };
  const tokenizer = await loadTokenizer(bpe.tokenizerJson, tokenizerConfig);
  const docIds = docs.map((d) => tokenizer.encode(d, { addSpecialTokens: false }));
  const tokens = docIds.reduce((s, d) => s + d.length + 1, 0);
  log(`tokenizer: ${bpe.vocabSize} ids (embedding ${vocabSize}); corpus ${tokens} tokens, ${(docs.join(' ').length / tokens).toFixed(2)} chars/token`);

  // 3. pretraining, full-parameter
  const config: ModelConfig = {
    architecture: 'llama', modelType: 'llama', vocabSize, hiddenSize: MODEL.hidden, intermediateSize: MODEL.intermediate,
    numLayers: MODEL.layers, numHeads: MODEL.heads, numKvHeads: MODEL.kvHeads, headDim: MODEL.hidden / MODEL.heads,
    maxPositions: MODEL.positions, normEps: 1e-5, ropeTheta: 10000, attentionBias: false, mlpBias: false,
    tieWordEmbeddings: false, bosTokenId: endoftext, eosTokenId: imEnd,
  };
  const examples = packWindows(docIds, endoftext, PRETRAIN.seq);
  await installNodeWebGPU();
  const gpu = await createGpu();
  const model = new Transformer(gpu, config, initWeights(config, SEED, 0.02), { kind: 'full' }, SEED);
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN, lr: PRETRAIN.lr, schedule: 'cosine', warmupSteps: PRETRAIN.warmup, maxSteps: bench ? 6 : steps,
    batchSize: PRETRAIN.batch, maxSeqLength: PRETRAIN.seq, weightDecay: 0.01, maxGradNorm: 1, seed: SEED,
  };
  const trainer = new Trainer(model, examples, cfg, endoftext);
  log(`pretraining: ${examples.length} windows of ${PRETRAIN.seq + 1} tokens, ${trainer.totalSteps} steps of ${PRETRAIN.batch}`);
  const tTrain = performance.now();
  let avg = 0;
  while (!trainer.done) {
    const s = await trainer.step();
    avg = s.step === 1 ? s.loss : 0.95 * avg + 0.05 * s.loss;
    if (s.step % 20 === 0 || s.step === trainer.totalSteps || bench) {
      log(`step ${s.step}/${trainer.totalSteps} loss ${s.loss.toFixed(3)} (avg ${avg.toFixed(3)}) lr ${s.lr.toExponential(2)} ${((performance.now() - tTrain) / 1000 / s.step).toFixed(2)} s/step`);
    }
  }
  if (bench) return;

  // 4. the folder, in Hugging Face layout
  const weights = await model.params.readTrainable();
  const tensors = [...weights].map(([name, data]) => ({ name, shape: model.params.specs.get(name)!.shape, data }));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.safetensors'), writeSafetensors(tensors, { metadata: { format: 'pt' } }));
  writeFileSync(join(outDir, 'config.json'), json({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: vocabSize, hidden_size: MODEL.hidden,
    intermediate_size: MODEL.intermediate, num_hidden_layers: MODEL.layers, num_attention_heads: MODEL.heads,
    num_key_value_heads: MODEL.kvHeads, head_dim: MODEL.hidden / MODEL.heads, max_position_embeddings: MODEL.positions,
    rms_norm_eps: config.normEps, rope_theta: config.ropeTheta, rope_scaling: null, hidden_act: 'silu',
    attention_bias: false, mlp_bias: false, tie_word_embeddings: false, bos_token_id: endoftext, eos_token_id: imEnd,
    pad_token_id: endoftext, torch_dtype: 'float32',
  }));
  writeFileSync(join(outDir, 'tokenizer.json'), json(bpe.tokenizerJson));
  writeFileSync(join(outDir, 'tokenizer_config.json'), json(tokenizerConfig));
  writeFileSync(join(outDir, 'generation_config.json'), json({ bos_token_id: endoftext, eos_token_id: [imEnd, endoftext], pad_token_id: endoftext, do_sample: false }));
  log(`wrote ${outDir} (${tensors.reduce((s, t) => s + t.data.length, 0).toLocaleString('en')} parameters)`);
  if (!process.argv.includes('--no-samples')) {
    writeSamples(world, samplesDir);
    log(`wrote ${samplesDir}`);
  }

  // 5. it must load the way the studio loads it
  const loaded = await loadHfModel(filesFromDirectory(outDir));
  log(`loadHfModel: ${loaded.config.numLayers} layers, vocab ${loaded.config.vocabSize}, end of turn ${JSON.stringify(loaded.chatTemplate?.endOfTurn)}`);
  log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
