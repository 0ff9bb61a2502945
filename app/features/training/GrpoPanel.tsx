// Reinforcement learning with rewards (GRPO) on the Train screen, beside SFT and preference tuning: the prompts are
// the open dataset's train split (a row's assistant answer is its reference), the rewards are the user's
// (RewardsEditor: built-ins and JavaScript functions with weights), the GRPO knobs are here and the LoRA and optimizer
// settings (learning rate, steps, batch size = answers per micro-batch) are the form's above. "Try it on 4 samples"
// answers 4 prompts as the run would and shows each reward's value or error before anything is trained; the problems
// and the estimate are shown as for the other methods; the run starts from a new adapter or a finished run (SFT
// first teaches the answer format GRPO then rewards). The run is a run like any other (the engine store's startRun
// with config.grpo): the live panel above pauses and cancels it, the history keeps and resumes it, Compare lists it;
// this panel draws its rewards and latest groups while it is watched (GrpoLive).
// Loaded on demand (TrainingPage's lazy import): it keeps the page's first load within its budget.
import { useMemo } from 'react';
import type { GrpoLossType, RewardScaling } from '../../../src/train/grpo';
import type { RunConfig } from '../../../src/train/presets';
import { rewardName } from '../../../src/train/rewards';
import { useDatasets } from '../../store';
import { useEngine } from '../../store/engine';
import { NumberField } from './ConfigForm';
import { GrpoLive } from './GrpoLive';
import { grpoRunConfig, promptRecords, TRY_PROMPTS, useGrpo } from './grpoStore';
import { RewardPreviewTable, RewardsEditor } from './RewardsEditor';
import { meanTokensOf, RunCheck, useRunCheck } from './RunCheck';

const LOSS_TYPES: Record<GrpoLossType, string> = {
  dapo: 'dapo (default)',
  dr_grpo: 'dr_grpo',
  grpo: 'grpo',
};

export default function GrpoPanel({ cfg, disabled }: { cfg: RunConfig; disabled: boolean }) {
  const runs = useEngine((s) => s.runs);
  const model = useEngine((s) => s.model);
  const live = useEngine((s) => s.live);
  const records = useDatasets((s) => s.records);
  const current = useDatasets((s) => s.current);
  const { grpo, startRun, trying, preview, message } = useGrpo((s) => s);
  const { set, setStart, addReward, updateReward, removeReward, tryRewards, start } = useGrpo((s) => s);

  const prompts = useMemo(() => promptRecords(records), [records]);
  const run = useMemo(() => grpoRunConfig(cfg, grpo), [cfg, grpo]);
  const counts = useMemo(() => ({ trainExamples: prompts.length, validationExamples: 0 }), [prompts]);
  const meanTokens = useMemo(() => meanTokensOf(prompts), [prompts]);
  const check = useRunCheck(run, counts, meanTokens);
  const finished = runs.filter((r) => r.model.fingerprint === model?.fingerprint && r.checkpoints.last !== null);
  const running = live?.status === 'running' || live?.status === 'paused';
  const watched = live?.method === 'grpo' ? live : null;
  // The watched run's reward names, from its stored config (the history has it once the run is listed).
  const names = useMemo(() => {
    const rewards = runs.find((r) => r.id === watched?.runId)?.config.grpo?.rewards;
    const k = watched?.points.at(-1)?.rewardMeans?.length ?? watched?.groups?.groups[0]?.answers[0]?.rewards.length ?? 0;
    return rewards ? rewards.map(rewardName) : Array.from({ length: k }, (_, i) => `reward ${i + 1}`);
  }, [runs, watched?.runId, watched?.points, watched?.groups]);

  return (
    <section className="panel" aria-labelledby="grpo-title">
      <h2 id="grpo-title">Reinforcement learning with rewards (GRPO)</h2>
      <p>
        For each prompt the model samples several answers; your rewards score them, and each answer is made likelier or
        less likely by how it compares with the other answers to the same prompt. Uses the LoRA and optimizer settings above
        (batch size counts answers). Start from a finished SFT run: GRPO sharpens what the model already does, it does not teach the format.
      </p>
      <p>
        Prompts: {prompts.length} rows of the train split of {current ? current.name : 'the open dataset'} (flagged rows left out); a row's
        assistant answer, when it has one, is the reference the rewards may compare with.
      </p>
      <fieldset className="config-form" disabled={running}>
        <legend>GRPO settings</legend>
        <div className="knobs">
          <fieldset>
            <legend>Sampling</legend>
            <NumberField label="Answers per prompt (G)" value={grpo.numGenerations} onChange={(numGenerations) => set({ numGenerations })} hint="Compared with each other; batch size × accumulation must be a multiple of G." />
            <NumberField label="Max new tokens" value={grpo.maxNewTokens} onChange={(maxNewTokens) => set({ maxNewTokens })} hint="The longest answer; prompt and answer must fit the max sequence length." />
            <NumberField label="Temperature" value={grpo.temperature} onChange={(temperature) => set({ temperature })} hint="Above 0: a group's answers must differ to be compared." />
          </fieldset>
          <fieldset>
            <legend>Objective</legend>
            <NumberField label="KL weight (β)" value={grpo.beta} onChange={(beta) => set({ beta })} hint="0 = no reference model (TRL's default); above 0 keeps the model near where the run started." />
            <NumberField label="Policy updates per batch (μ)" value={grpo.numIterations} onChange={(numIterations) => set({ numIterations })} hint="Optimizer steps on each batch of sampled answers; 1 samples afresh every step." />
            <div className="field">
              <label htmlFor="grpo-loss-type">Loss type</label>
              <select id="grpo-loss-type" value={grpo.lossType} aria-describedby="grpo-loss-help" onChange={(e) => set({ lossType: e.target.value as GrpoLossType })}>
                {(Object.keys(LOSS_TYPES) as GrpoLossType[]).map((t) => <option key={t} value={t}>{LOSS_TYPES[t]}</option>)}
              </select>
              <span className="help" id="grpo-loss-help">
                dapo, TRL&apos;s default: every answer token weighs the same whatever its answer&apos;s length, and the scale does not move with
                max new tokens, so a learning rate means the same at any answer length. grpo averages per answer first (favours short right
                answers); dr_grpo divides by answers × max new tokens.
              </span>
            </div>
          </fieldset>
        </div>
        <details className="advanced">
          <summary>More GRPO settings</summary>
          <div className="knobs">
            <fieldset>
              <legend>Clipping and scaling</legend>
              <NumberField label="Clip range (ε)" value={grpo.epsilon} onChange={(epsilon) => set({ epsilon, epsilonHigh: epsilon })} hint="How far one step may move an answer token's probability ratio (TRL's 0.2)." />
              <div className="field">
                <label htmlFor="grpo-scaling">Reward scaling</label>
                <select id="grpo-scaling" value={grpo.scaleRewards} onChange={(e) => set({ scaleRewards: e.target.value as RewardScaling })}>
                  <option value="group">by the group&apos;s spread</option>
                  <option value="batch">by the batch&apos;s spread</option>
                  <option value="none">none</option>
                </select>
              </div>
              <NumberField label="Reward time limit (ms)" value={grpo.rewardTimeoutMs} onChange={(rewardTimeoutMs) => set({ rewardTimeoutMs })} hint="Per call of a JavaScript reward; past it, that answer gets an error." />
            </fieldset>
          </div>
        </details>
      </fieldset>
      <RewardsEditor rewards={grpo.rewards} onChange={updateReward} onAdd={addReward} onRemove={removeReward} disabled={running} />
      <div className="row">
        <label>
          GRPO run starts from
          <select value={startRun} disabled={running} onChange={(e) => setStart(e.target.value)}>
            <option value="">a new adapter</option>
            {finished.map((r) => <option key={r.id} value={r.id}>run {r.name}</option>)}
          </select>
        </label>
        <button type="button" disabled={!model || running || trying || prompts.length === 0} onClick={() => void tryRewards(cfg)}>Try it on {TRY_PROMPTS} samples</button>
      </div>
      {trying && <p role="status" aria-label="Reward trial status">Answering {Math.min(TRY_PROMPTS, prompts.length)} prompts and scoring the answers…</p>}
      {preview && !trying && <RewardPreviewTable preview={preview} />}
      <RunCheck check={check} problemsLabel="Problems with this GRPO run" estimateLabel="Memory and time of the GRPO run" />
      {check.estimate && <p className="hint">The estimate counts the training steps; sampling the answers adds to their time.</p>}
      <div className="row">
        <button type="button" className="primary" disabled={disabled || running || check.errors.length > 0} onClick={() => void start(cfg)}>Start GRPO</button>
      </div>
      {message && <p role="status" aria-label="GRPO message">{message}</p>}
      {watched && <GrpoLive live={watched} names={names} />}
    </section>
  );
}
