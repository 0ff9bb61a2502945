// The engine's answers and scores: generating with any adapter choice (our WebGPU decoder, or onnxruntime-web on the
// ONNX export of the same weights), several sampled answers to one prompt, the loss of conversations, held-out
// preference pairs, and the batch evaluation of conversations × models (evaluate.ts) with its stored results. Every call here runs on the resident model with
// the choice's values written in (weights.ts), and is refused while a run steps.
//
// Contract: a prompt as long as the model's context or longer is refused; one that leaves less room than asked gets
// fewer new tokens and a 'note' event. 'auto' decodes with ours, except on a software adapter with a model our
// decoder cannot step on the CPU there (larger than the one-dispatch step's bound, or 16-bit or quantised weights:
// src/generate/cpu-decode.ts): then onnxruntime's wasm kernels are several times faster than our kernels run by the
// emulator (measured 3–20× on SwiftShader). On the default model our CPU step is 1.4-3.9× onnxruntime-web's wasm
// (scripts/bench-decode.ts, the bench page), and on a GPU our decoder needs no second copy of the weights. The ONNX
// decoder of one choice's weights is kept (resident.ts) until other weights are asked for.
// Several answers to one prompt are one batch on our decoder (generateBatch's samplesPerPrompt) and one after another
// on onnxruntime, each with the same draw stream either way (sequenceSeed).
import type { Decoder } from '../generate/decoder';
import { cpuStepPlan, generateBatch, sequenceSeed } from '../generate/batch';
import { generate as generateTokens } from '../generate/generate';
import { onnxDecoderOf, type OnnxDecoder } from '../generate/onnx-decoder';
import { evaluatePreference } from '../eval/preference';
import { stopTokenIds, templateOf, type ModelMeta } from '../io/hf';
import type { Transformer } from '../model/transformer';
import { pairLogps } from '../train/preference';
import { tokenizePreference, type PreferencePair } from '../train/preference-pairs';
import { evaluateLoss } from '../train/trainer';
import type { AdapterChoice, EngineMethods, GenerateArgs, GenerateResult, OnEvent } from './api';
import type { EngineContext } from './context';
import { evaluateBatch, promptIds } from './evaluate';
import { tokenizeChunked } from './session';
import { choiceKey, withAdapter } from './weights';

/** Sequences scored per forward by the loss and the pair log-probs. */
const SCORE_BATCH = 4;
/** Most answers generateSamples makes for one prompt. */
const MAX_SAMPLES = 16;

const noop: OnEvent = () => {};

/** New tokens that fit after a prompt in the model's context: the prompt must leave room for one. */
function roomAfter(m: ModelMeta, promptTokens: number, asked: number, onEvent: OnEvent): number {
  const context = m.config.maxPositions;
  if (promptTokens >= context) throw new Error(`the prompt is ${promptTokens} tokens; this model's context is ${context} positions`);
  const room = context - promptTokens;
  if (room < asked) onEvent({ type: 'note', message: `the prompt leaves room for ${room} of the ${asked} new tokens asked (context ${context})` });
  return Math.min(asked, room);
}

const pairExamples = (m: ModelMeta, pairs: PreferencePair[], maxSeqLength: number) => pairs.map((p) => tokenizePreference(m.tokenizer, templateOf(m), p, maxSeqLength));

export function answerCalls(ctx: EngineContext): Pick<EngineMethods, 'generate' | 'generateSamples' | 'evaluateLoss' | 'evaluatePairs' | 'evaluate' | 'stopEvaluation' | 'saveEvaluation' | 'listEvaluations'> {
  const { resident } = ctx;
  /** The batch evaluation in progress, stopped between rows by stopEvaluation. */
  let evaluation: { stopped: boolean } | null = null;

  async function onnxDecoder(choice: AdapterChoice): Promise<OnnxDecoder> {
    const key = await choiceKey(ctx, choice);
    if (resident.onnx?.key === key) return resident.onnx.decoder;
    resident.dropOnnx();
    const ort = await ctx.host.ort();
    const decoder = await withAdapter(ctx, choice, (net) => onnxDecoderOf(ort, net));
    resident.onnx = { key, decoder };
    return decoder;
  }

  /** Greedy or sampled tokens from `decoder`, streamed as 'token' events. */
  async function decode(decoder: Transformer | Decoder, ids: number[], sampling: GenerateArgs['sampling'], onEvent: OnEvent): Promise<Omit<GenerateResult, 'backend'>> {
    const m = resident.model().model;
    const tok = m.tokenizer;
    const maxNewTokens = roomAfter(m, ids.length, sampling.maxNewTokens, onEvent);
    const t0 = performance.now();
    const tokens: number[] = [];
    let text = '', finishReason: GenerateResult['finishReason'] = null;
    for await (const step of generateTokens(decoder, ids, { ...sampling, maxNewTokens, stopTokenIds: stopTokenIds(m), decode: (x) => tok.decode(x, { skipSpecialTokens: true }) })) {
      tokens.push(step.token);
      text = step.text;
      finishReason = step.finishReason;
      onEvent({ type: 'token', token: step.token, text });
    }
    return { text, tokens, finishReason, tokensPerSecond: tokens.length / Math.max(1e-6, (performance.now() - t0) / 1000) };
  }

  /** Whether a call with this choice decodes with onnxruntime ('auto': on a software adapter, unless ours decodes on its CPU). */
  const onOnnx = async (backend: GenerateArgs['backend']) => backend === 'onnx'
    || ((backend ?? 'auto') === 'auto' && (await resident.device()).isSoftware && cpuStepPlan(resident.current ?? await resident.base()) === null);

  const calls: ReturnType<typeof answerCalls> = {
    async generate(args, onEvent = noop) {
      resident.refuseWhileStepping('generating');
      const ids = promptIds(resident.model().model, args.prompt);
      if (await onOnnx(args.backend)) return { ...await decode(await onnxDecoder(args.adapter), ids, args.sampling, onEvent), backend: 'onnx' };
      return withAdapter(ctx, args.adapter, async (net) => ({ ...await decode(net, ids, args.sampling, onEvent), backend: 'webgpu', cpuStep: cpuStepPlan(net) !== null }));
    },

    async generateSamples(args, onEvent = noop) {
      const n = args.samples;
      if (!Number.isInteger(n) || n < 2 || n > MAX_SAMPLES) throw new Error(`samples ${n}: ask for 2 to ${MAX_SAMPLES} answers`);
      if (!(args.sampling.temperature > 0)) throw new Error('several answers need sampling: with temperature 0 (greedy) every answer is the same');
      resident.refuseWhileStepping('generating');
      const m = resident.model().model;
      const ids = promptIds(m, args.prompt);
      if (await onOnnx(args.backend)) {
        const decoder = await onnxDecoder(args.adapter);
        const out: GenerateResult[] = [];
        for (let g = 0; g < n; g++) {
          const r = await decode(decoder, ids, { ...args.sampling, seed: sequenceSeed(args.sampling.seed, g) }, (e) => onEvent(e.type === 'token' ? { ...e, sample: g } : e));
          out.push({ ...r, backend: 'onnx' });
        }
        return out;
      }
      const maxNewTokens = roomAfter(m, ids.length, args.sampling.maxNewTokens, onEvent);
      return withAdapter(ctx, args.adapter, async (net) => {
        const t0 = performance.now();
        const seconds = new Array<number>(n).fill(0);   // each answer's time to its last token: they decode together
        const results = await generateBatch(net, [ids], {
          ...args.sampling, maxNewTokens, samplesPerPrompt: n, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }),
        }, (e) => {
          seconds[e.sample] = (performance.now() - t0) / 1000;
          onEvent({ type: 'token', token: e.token, text: e.text, sample: e.sample });
        });
        return results.map((r, g): GenerateResult => ({
          text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokens.length / Math.max(1e-6, seconds[g]), backend: 'webgpu', cpuStep: cpuStepPlan(net) !== null,
        }));
      });
    },

    async evaluateLoss(args, onEvent = noop) {
      resident.refuseWhileStepping('evaluating');
      const m = resident.model().model;
      const total = args.records.length;
      const examples = await tokenizeChunked(m, args.records, { assistantOnly: true, maxSeqLength: args.maxSeqLength }, (done) => onEvent({ type: 'tokenize', done, total }));
      return withAdapter(ctx, args.adapter, (net) => evaluateLoss(net, examples, SCORE_BATCH, args.maxSeqLength, m.tokenizer.padTokenId ?? 0));
    },

    async evaluatePairs(args, onEvent = noop) {
      resident.refuseWhileStepping('evaluating');
      const m = resident.model().model;
      const examples = pairExamples(m, args.pairs, args.maxSeqLength);
      return withAdapter(ctx, args.adapter, (net) => evaluatePreference(net, args.pairs, examples, {
        batchSize: SCORE_BATCH, maxSeqLength: args.maxSeqLength, padId: m.tokenizer.padTokenId ?? 0,
        // With an adapter, its implicit reward too: the same pairs with the adapter switched off.
        reference: args.adapter.kind === 'base' ? undefined : 'base',
        answer: async (prompt) => (await decode(net, promptIds(m, { kind: 'chat', messages: prompt }), { ...args.sampling, temperature: 0 }, (e) => { if (e.type === 'note') onEvent(e); })).text,
      }));
    },

    async evaluate(args, onEvent = noop) {
      const mine = { stopped: false };
      evaluation = mine;
      // A row's notes (a prompt cut short) and the loss's tokenizing progress reach the caller; generated tokens do not.
      const notes: OnEvent = (e) => { if (e.type === 'note' || e.type === 'tokenize') onEvent(e); };
      // Our decoder answers a chunk's prompts together (src/generate/batch.ts); onnxruntime, one at a time.
      const batched = !(await onOnnx(args.backend));
      try {
        return await evaluateBatch({
          generate: (adapter, prompt) => calls.generate({ adapter, prompt, sampling: args.sampling, backend: args.backend }, notes),
          generateBatch: batched ? (adapter, prompts) => {
            resident.refuseWhileStepping('generating');
            const m = resident.model().model;
            const ids = prompts.map((p) => promptIds(m, p));
            for (const x of ids) roomAfter(m, x.length, args.sampling.maxNewTokens, notes);
            const t0 = performance.now();
            return withAdapter(ctx, adapter, async (net) => (await generateBatch(net, ids, {
              ...args.sampling, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }),
            })).map((r, _, all) => ({ ...r, tokensPerSecond: all.reduce((n, a) => n + a.tokens.length, 0) / Math.max(1e-6, (performance.now() - t0) / 1000) })));
          } : undefined,
          loss: (adapter, records) => calls.evaluateLoss({ adapter, records, maxSeqLength: args.maxSeqLength }, notes),
          pairLogps: (adapter, pairs) => {
            const m = resident.model().model;
            const examples = pairExamples(m, pairs, args.maxSeqLength);
            return withAdapter(ctx, adapter, (net) => pairLogps(net, examples, SCORE_BATCH, args.maxSeqLength, m.tokenizer.padTokenId ?? 0));
          },
        }, args, onEvent, () => mine.stopped);
      } finally {
        if (evaluation === mine) evaluation = null;
      }
    },

    async stopEvaluation() {
      if (evaluation) evaluation.stopped = true;
      return null;
    },

    async saveEvaluation(e) {
      await (await ctx.store()).putEvaluation(e);
      return null;
    },

    listEvaluations: async ({ subject }) => (await ctx.store()).listEvaluations(subject),
  };
  return calls;
}
