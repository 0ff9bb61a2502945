// One answer's statistics line, the same under every answer on Compare (one prompt, several samples, a conversation
// turn): its length in tokens, tokens/s, the decoder, and why it stopped (or that it is still generating), or why it failed.
import { answerLength, type Generation } from '../../../src/eval/metrics';

const FINISH: Record<string, string> = { 'stop-token': 'stopped at end of turn', 'stop-string': 'stopped at a stop string', length: 'hit max new tokens' };
const BACKEND: Record<'webgpu' | 'onnx', string> = { webgpu: 'WebGPU engine', onnx: 'onnxruntime-web' };

export interface ShownAnswer extends Generation { done: boolean; error: string | null; backend?: 'webgpu' | 'onnx'; cpuStep?: boolean }

/** `label` names the answer for assistive technology: "Statistics for {label}". */
export function AnswerStats({ answer: a, label }: { answer: ShownAnswer; label: string }) {
  return (
    <p className="answer-stats" aria-label={`Statistics for ${label}`}>
      {a.error ? `Failed: ${a.error}` : `${answerLength(a)} tokens · ${(a.tokensPerSecond ?? 0).toFixed(1)} tokens/s${a.backend ? ` · ${BACKEND[a.backend]}${a.cpuStep ? ' · on the CPU' : ''}` : ''}${a.done && a.finishReason ? ` · ${FINISH[a.finishReason]}` : a.done ? '' : ' · generating…'}`}
    </p>
  );
}
