// The engine: the ONE place that owns the GPU device and the loaded model, the same for the page (its worker carries
// messages to it: workers/engine-worker.ts) and the command line (cli/studio.ts is its client in Node). It loads
// models, runs LoRA training (SFT, DPO, ORPO or GRPO) with live metrics, pause/resume/cancel and checkpoints, resumes runs
// after a reload or a lost device, generates and scores with the base model, any run's adapter or an imported PEFT
// adapter, evaluates batches, and exports. What differs between a page and Node is the host (host.ts): the GPU, the
// run store, where model files come from, onnxruntime, the clock.
//
// Its calls live by subject, each file one idea: model.ts (probe, load, tokenizer files), runs.ts, adapters.ts,
// answers.ts (generation and scores), conversations.ts (multi-turn answers, stored conversations), exports.ts,
// rewards.ts (GRPO's rewards tried before a run); resident.ts holds the device and the one resident model, weights.ts
// writes a choice's values into it. A new call is its method there and its line in api.ts's EngineCalls.
import { adapterCalls } from './adapters';
import { answerCalls } from './answers';
import type { Engine, OnEvent } from './api';
import { createContext } from './context';
import { conversationCalls } from './conversations';
import { exportCalls } from './exports';
import type { EngineHost } from './host';
import { modelCalls } from './model';
import { rewardCalls } from './rewards';
import { runCalls } from './runs';

export function createEngine(host: EngineHost): Engine {
  const listeners: OnEvent[] = [];
  const ctx = createContext(host, (e) => { for (const l of listeners) l(e); });
  const answers = answerCalls(ctx);
  return {
    ...modelCalls(ctx),
    ...runCalls(ctx),
    ...adapterCalls(ctx),
    ...answers,
    ...conversationCalls(ctx, answers.generate),
    ...exportCalls(ctx),
    ...rewardCalls(ctx),
    onUnsolicited(listener) { listeners.push(listener); },
    dispose() { ctx.resident.dispose(); },
  };
}
