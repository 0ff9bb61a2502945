// A training session: the ONE run loop, run by the engine (src/engine/runs.ts) for the page (runs in IndexedDB) and
// the CLI's `train` (runs in its output folder), for SFT, preference and GRPO runs alike. It steps a trainer (the SFT
// Trainer on a run's examples, each conversation tokenized as the run first takes it, the PreferenceTrainer on its pairs when run.config.preference is set, the GrpoTrainer on
// its prompts when run.config.grpo is: answers sampled by sample-groups.ts, scored by the run's rewards, JavaScript
// ones in the host's sandbox, SessionArgs.openSandbox) and keeps the RunRecord up to date: the metric curve (a GRPO
// run also reports each generation batch's groups as it samples them, not stored), validation evaluations (every
// config.evalEvery steps and at the end), checkpoints through a RunSink ('last' every config.checkpointEvery steps,
// on pause and at the end; 'best' at each new best validation loss), early stopping, pause/resume/cancel through a
// RunControl, and the run's status.
//
// Contract: `runSession` resolves with the final status ('completed' | 'stopped-early' | 'cancelled'); on any
// failure it stores the run as 'interrupted' (a checkpoint exists, or the device was lost) or 'failed', then
// rethrows. A resume (`resumeFrom`: bytes of a 'last' checkpoint) builds the same model and trainer and applies
// them: the following steps give the same losses bit for bit as a run that never stopped. The guards against
// non-finite steps and data with nothing to learn are the trainers' (src/train/trainer.ts, src/train/preference.ts).
// A preference or GRPO run has no validation split: no evaluations, no 'best' checkpoint.
// Not here: where runs are stored, which model is resident, memory checks (the engine: runs.ts, resident.ts).
import { errorMessage } from '../errors';
import type { ChatMessage } from '../data/types';
import type { ModelMeta } from '../io/hf';
import { stopTokenIds, templateOf } from '../io/hf';
import type { Transformer } from '../model/transformer';
import type { CheckpointKind, MetricPoint, RunRecord, RunStatus, RunStore } from '../storage/runs';
import { examplesFromRecords, ExamplesOnDemand } from '../tokenize/loss-mask';
import type { Example, Examples } from '../train/batch';
import { applyCheckpoint, captureCheckpoint, deserializeCheckpoint, serializeCheckpoint, type CheckpointedTrainer } from '../train/checkpoint';
import { GrpoTrainer, tokenizeGrpoPrompt, type GrpoGroup, type GrpoMetrics, type GrpoPoint, type GrpoPrompt } from '../train/grpo';
import { PreferenceTrainer, type PreferenceMetrics } from '../train/preference';
import { tokenizePreference, type PreferenceExample, type PreferencePair } from '../train/preference-pairs';
import { packExamples, type RunConfig } from '../train/presets';
import { RewardScorer, type OpenSandbox } from '../train/rewards';
import { evaluateLoss, targetTokens, Trainer, type StepMetrics } from '../train/trainer';
import { sampleGroupsWith } from './sample-groups';

/** What a session reports while it runs. */
export type SessionEvent =
  | { type: 'run'; run: RunRecord }
  | { type: 'step'; runId: string; point: MetricPoint; totalSteps: number; etaSeconds: number }
  /** A GRPO step that sampled a new generation batch: its prompts, answers, rewards and advantages (after the step's event). */
  | { type: 'groups'; runId: string; step: number; groups: GrpoGroup[] }
  | { type: 'eval'; runId: string; step: number; valLoss: number; best: boolean }
  | { type: 'checkpoint'; runId: string; step: number; kind: CheckpointKind }
  | { type: 'status'; runId: string; status: RunStatus; error: string | null };

/** Where a session keeps its run: the worker's RunStore, or the CLI's output folder. */
export type RunSink = Pick<RunStore, 'put' | 'putCheckpoint'>;

/** What a run trains on: conversations (SFT: train and validation examples), preference pairs, or GRPO's prompts. */
type RunExamples = { train: Examples; validation: Examples } | { pairs: PreferenceExample[] } | GrpoExamples;

/** GRPO's prompts, and what sampling needs of the model's tokenizer: its decoding and its stop tokens. */
interface GrpoExamples { prompts: GrpoPrompt[]; decode: (ids: number[]) => string; stopTokenIds: number[] }

type AnyMetrics = StepMetrics | PreferenceMetrics | GrpoMetrics;

/** The loop's view of a trainer: the SFT Trainer and the PreferenceTrainer both are one. */
interface SessionTrainer extends CheckpointedTrainer {
  readonly totalSteps: number;
  readonly done: boolean;
  /** Work before the first step (compiling its pipelines; a DPO run's reference log-probs). */
  prepare(): Promise<unknown>;
  step(): Promise<AnyMetrics>;
  /** GRPO's: the generation batch the last step sampled, as groups (null when it sampled none). */
  sampledGroups?(): GrpoGroup[] | null;
}

function trainerFor(config: RunConfig, net: Transformer, examples: RunExamples, padId: number, rewards: RewardScorer | null): SessionTrainer {
  if ('prompts' in examples) {
    if (!config.grpo || !rewards) throw new Error('GRPO prompts need a GRPO config (config.grpo) and its rewards');
    return new GrpoTrainer(net, examples.prompts, config.train, config.grpo, sampleGroupsWith(net, examples.decode, examples.stopTokenIds), rewards, padId);
  }
  if (!('pairs' in examples)) return new Trainer(net, examples.train, config.train, padId);
  if (!config.preference) throw new Error('preference pairs need a preference method (config.preference)');
  return new PreferenceTrainer(net, examples.pairs, config.train, config.preference, padId);
}

/** A preference step's rewards, margins and accuracy, or a GRPO step's rewards, KL and clipping, for its point (nothing for an SFT step). */
function rewardsOf(st: AnyMetrics): Partial<MetricPoint> {
  if ('margins' in st) return { rewardsChosen: st.rewardsChosen, rewardsRejected: st.rewardsRejected, margins: st.margins, accuracy: st.accuracy };
  if (!('reward' in st)) return {};
  const { reward, rewardStd, rewardMeans, rewardStds, fracZeroStd, kl, clipRatio, completionLength, truncated, unscorable, errors } = st;
  const point: GrpoPoint = { reward, rewardStd, rewardMeans, rewardStds, fracZeroStd, kl, clipRatio, completionLength, truncated, unscorable, errors };
  return point;
}

/** Conversations tokenized between two yields to the event loop (and between progress reports). */
export const TOKENIZE_CHUNK = 5000;

/**
 * Conversations tokenized in chunks with the event loop let in between, so a host can report progress
 * (`onProgress(done)`) and a stop lands during a long tokenization. The same examples as one examplesFromRecords.
 */
export async function tokenizeChunked(
  m: ModelMeta, records: readonly { messages: ChatMessage[] }[], opts: { assistantOnly: boolean; maxSeqLength: number }, onProgress?: (done: number) => void,
): Promise<Example[]> {
  const tpl = templateOf(m);
  const out: Example[] = [];
  for (let i = 0; i < records.length; i += TOKENIZE_CHUNK) {
    out.push(...examplesFromRecords(m.tokenizer, tpl, records.slice(i, i + TOKENIZE_CHUNK), opts));
    onProgress?.(out.length);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
}

/**
 * A run's training and validation examples: the train split with the run's loss mask, the validation split on
 * assistant turns, each conversation tokenized when the run first takes it (ExamplesOnDemand: the data order needs
 * only the count, so the first step waits for its own batches, not for the file); examples up to the first one
 * with a target token are tokenized here, a chunk at a time, so that data with nothing to learn is refused before
 * the run starts. A run that packs tokenizes its train split here, whole (the packed rows depend on every
 * conversation's length). Or, for a preference run, its pairs through the chat template (a pair that leaves no
 * answer token is an error naming it); or, for a GRPO run, the train split's prompts (an assistant turn at the end
 * is the reference answer; a row that does not fit is an error naming it).
 * `onProgress(done, total)` counts conversations tokenized, at most every TOKENIZE_CHUNK, and at the first and the last.
 */
export async function runExamples(
  m: ModelMeta, data: { records: readonly { messages: ChatMessage[]; split: 'train' | 'validation' }[]; pairs?: readonly PreferencePair[] },
  config: RunConfig, onProgress?: (done: number, total: number) => void,
): Promise<RunExamples> {
  const maxSeqLength = config.train.maxSeqLength;
  if (config.grpo) {
    const tpl = templateOf(m), maxNew = config.grpo.maxNewTokens;
    const rows = data.records.filter((r) => r.split === 'train');
    if (rows.length === 0) throw new Error('no prompts');
    return {
      prompts: rows.map((r, i) => {
        try {
          return tokenizeGrpoPrompt(m.tokenizer, tpl, r.messages, maxNew, maxSeqLength);
        } catch (e) {
          throw new Error(`prompt ${i + 1}: ${errorMessage(e)}`);
        }
      }),
      decode: (ids) => m.tokenizer.decode(ids), stopTokenIds: stopTokenIds(m),
    };
  }
  if (config.preference) {
    if (!data.pairs?.length) throw new Error('no preference pairs');
    const tpl = templateOf(m);
    return {
      pairs: data.pairs.map((p, i) => {
        try {
          return tokenizePreference(m.tokenizer, tpl, p, maxSeqLength);
        } catch (e) {
          throw new Error(`pair ${i + 1}: ${errorMessage(e)}`);
        }
      }),
    };
  }
  const { records } = data;
  const total = records.length;
  let done = 0;
  const counted = () => { if (++done === 1 || done % TOKENIZE_CHUNK === 0 || done === total) onProgress?.(done, total); };
  const tpl = templateOf(m);
  const onDemand = (split: 'train' | 'validation', assistantOnly: boolean) => new ExamplesOnDemand(
    m.tokenizer, tpl, records.filter((r) => r.split === split), { assistantOnly, maxSeqLength },
    { onTokenized: counted, describe: (i) => `${split} conversation ${i + 1}` },
  );
  const validation = onDemand('validation', true);
  if (config.packing) {
    const trainRecords = records.filter((r) => r.split === 'train');
    const train = await tokenizeChunked(m, trainRecords, { assistantOnly: config.assistantOnly, maxSeqLength }, (n) => onProgress?.(n, total));
    done = trainRecords.length;
    return { train: packExamples(train, maxSeqLength), validation };
  }
  const train = onDemand('train', config.assistantOnly);
  for (let i = 0; i < train.length && targetTokens(train.at(i)!, maxSeqLength) === 0; i++) {
    if ((i + 1) % TOKENIZE_CHUNK === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { train, validation };
}

/** Pause, resume, cancel and device loss, as seen by a running session (set from anywhere, read at step boundaries). */
export class RunControl {
  paused = false;
  cancelled = false;
  /** Why the device was lost, once it is: the session stops at its next step boundary. */
  lost: string | null = null;
  private wake: (() => void) | null = null;

  constructor(readonly runId: string) {}

  set(action: 'pause' | 'resume' | 'cancel'): RunStatus {
    if (action === 'pause') this.paused = true;
    else if (action === 'resume') this.paused = false;
    else this.cancelled = true;
    this.wake?.();
    this.wake = null;
    return action === 'pause' ? 'paused' : action === 'resume' ? 'running' : 'cancelled';
  }

  /** Resolves once resumed or cancelled. */
  async whilePaused(): Promise<void> {
    while (this.paused && !this.cancelled) await new Promise<void>((wake) => { this.wake = wake; });
  }
}

/** A fresh run's record: nothing trained yet. */
export function newRunRecord(
  a: Pick<RunRecord, 'name' | 'model' | 'dataset' | 'config' | 'trainExamples' | 'validationExamples'> & { init?: RunRecord['init'] }, t: number,
): RunRecord {
  return {
    id: `run-${t.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`, createdAt: t, updatedAt: t, status: 'running', error: null,
    ...a, init: a.init ?? null, totalSteps: 0, metrics: [], evals: [], checkpoints: { last: null, best: null }, bestValLoss: null, final: null,
  };
}

interface SessionArgs {
  /** The run: config, and (on resume) the curves so far. Updated in place as the session runs. */
  run: RunRecord;
  /** Builds the run's LoRA model (seeded with run.config.train.seed) and its examples (runExamples); failures count as the run's. */
  setup: () => Promise<{ net: Transformer; examples: RunExamples }>;
  padId: number;
  sink: RunSink;
  control: RunControl;
  /** A 'last' checkpoint to continue from, or null for a fresh start. */
  resumeFrom: Uint8Array | null;
  /** Writes starting values into a fresh run's model (an imported adapter); not called on resume. */
  init?: ((net: Transformer) => void) | null;
  onEvent?: (e: SessionEvent) => void;
  /** Runs a GRPO run's JavaScript rewards (the page's sandboxed worker; worker_threads in Node); absent: built-ins only. */
  openSandbox?: OpenSandbox;
  /** Awaited before a failure is recorded (the worker lets a lost device report itself first). */
  beforeFailure?: () => Promise<void>;
  now?: () => number;
}

export async function runSession(args: SessionArgs): Promise<RunStatus> {
  const { run, sink, control: ctl } = args;
  const now = args.now ?? Date.now;
  const onEvent = args.onEvent ?? (() => {});
  const setStatus = async (status: RunStatus, error: string | null = null) => {
    run.status = status; run.error = error; run.updatedAt = now();
    await sink.put(run);
    onEvent({ type: 'status', runId: run.id, status, error });
  };
  let rewards: RewardScorer | null = null;
  try {
    const { net, examples } = await args.setup();
    const { grpo } = run.config;
    if (grpo) rewards = await RewardScorer.open(grpo.rewards, args.openSandbox ?? null, grpo.rewardTimeoutMs);
    const trainer = trainerFor(run.config, net, examples, args.padId, rewards);
    const validation = 'validation' in examples ? examples.validation : [];
    run.totalSteps = trainer.totalSteps;
    if (!args.resumeFrom) args.init?.(net);
    else {
      applyCheckpoint(deserializeCheckpoint(args.resumeFrom), net, trainer);
      const at = trainer.state.step;
      run.metrics = run.metrics.filter((p) => p.step <= at);
      run.evals = run.evals.filter((e) => e.step <= at);
      run.bestValLoss = run.evals.length ? Math.min(...run.evals.map((e) => e.valLoss)) : null;
    }
    if (!trainer.done) await trainer.prepare(); // the first step's pipelines, compiled in parallel; DPO's and GRPO's reference
    await setStatus('running');
    onEvent({ type: 'run', run: structuredClone(run) });
    const { evalEvery, checkpointEvery, earlyStopPatience } = run.config;
    let sinceBest = 0;
    for (const e of run.evals) sinceBest = run.bestValLoss !== null && e.valLoss <= run.bestValLoss ? 0 : sinceBest + 1;
    const elapsed0 = run.metrics.at(-1)?.elapsed ?? 0;
    const t0 = performance.now();
    const stepTimes: number[] = [];

    const checkpoint = async (kind: CheckpointKind) => {
      const bytes = serializeCheckpoint(await captureCheckpoint(net, trainer, { runId: run.id }));
      await sink.putCheckpoint(run.id, kind, trainer.state.step, bytes);
      run.checkpoints[kind] = trainer.state.step;
      await sink.put(run);
      onEvent({ type: 'checkpoint', runId: run.id, step: trainer.state.step, kind });
    };
    /** Evaluates the validation split; true when early stopping says stop. */
    const evaluate = async (): Promise<boolean> => {
      if (validation.length === 0) return false;
      const { loss } = await evaluateLoss(net, validation, run.config.train.batchSize, run.config.train.maxSeqLength, args.padId);
      const step = trainer.state.step;
      const best = run.bestValLoss === null || loss < run.bestValLoss;
      run.evals.push({ step, valLoss: loss });
      if (best) { run.bestValLoss = loss; sinceBest = 0; await checkpoint('best'); } else sinceBest++;
      onEvent({ type: 'eval', runId: run.id, step, valLoss: loss, best });
      return earlyStopPatience > 0 && sinceBest >= earlyStopPatience;
    };

    let stoppedEarly = false;
    while (!trainer.done) {
      if (ctl.lost) throw new Error(ctl.lost);
      if (ctl.paused) {
        await checkpoint('last');
        await setStatus('paused');
        await ctl.whilePaused();
        if (!ctl.cancelled) await setStatus('running');
      }
      if (ctl.cancelled) break;
      const ts = performance.now();
      // The first step allocates the activations: a device that cannot hold them fails it with one clear error.
      const st = stepTimes.length === 0 ? await net.gpu.withOomScope(`Training step ${trainer.state.step + 1}`, () => trainer.step()) : await trainer.step();
      const dt = (performance.now() - ts) / 1000;
      stepTimes.push(dt);
      if (stepTimes.length > 10) stepTimes.shift();
      const point: MetricPoint = {
        step: st.step, epoch: st.epoch, loss: st.loss, lr: st.lr, gradNorm: st.gradNorm,
        tokensPerSecond: st.seqTokens / Math.max(dt, 1e-6), elapsed: elapsed0 + (performance.now() - t0) / 1000, ...rewardsOf(st),
      };
      run.metrics.push(point);
      run.updatedAt = now();
      const mean = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length;
      onEvent({ type: 'step', runId: run.id, point, totalSteps: trainer.totalSteps, etaSeconds: mean * (trainer.totalSteps - st.step) });
      const groups = trainer.sampledGroups?.();
      if (groups) onEvent({ type: 'groups', runId: run.id, step: st.step, groups });
      const last = trainer.done;
      if ((evalEvery > 0 && st.step % evalEvery === 0) || last) stoppedEarly = await evaluate();
      if ((checkpointEvery > 0 && st.step % checkpointEvery === 0) || last || stoppedEarly) await checkpoint('last');
      else await sink.put(run);
      if (stoppedEarly) break;
    }
    if (ctl.cancelled) {
      await setStatus('cancelled');
    } else {
      const lastPoint = run.metrics.at(-1);
      run.final = {
        trainLoss: lastPoint?.loss ?? NaN, valLoss: run.evals.at(-1)?.valLoss ?? null,
        steps: trainer.state.step, seconds: lastPoint?.elapsed ?? 0,
      };
      await setStatus(stoppedEarly ? 'stopped-early' : 'completed');
    }
    return run.status;
  } catch (e) {
    if (!ctl.lost) await args.beforeFailure?.();
    // A lost device or a crash mid-run leaves the last checkpoint: the run can be resumed.
    await setStatus(ctl.lost || run.checkpoints.last !== null ? 'interrupted' : 'failed', ctl.lost ?? errorMessage(e));
    throw e;
  } finally {
    rewards?.close();
  }
}
