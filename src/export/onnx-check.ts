// The studio's proof that an ONNX export is right, and which backend generates faster here: the export runs in
// onnxruntime (the `ort` module passed in; wasm by default) beside our engine on the same model, and we compare
// the next-token logits of a prompt, then greedy-decode a few tokens with each through the one generation loop
// (src/generate/generate.ts) and time both. With the 'inputs' export the net's own adapter is fed to the graph
// (onnxLoraOf), so the check is always "this file is this model". Nothing here decides for the user: the
// caller shows the figures and may switch generation to the ONNX backend (src/generate/onnx-decoder.ts).
import { transformerDecoder, type Decoder } from '../generate/decoder';
import { generateAll } from '../generate/generate';
import { OnnxDecoder, type OnnxDecoderOptions, type Ort } from '../generate/onnx-decoder';
import { argmax, GREEDY } from '../generate/sampler';
import type { Transformer } from '../model/transformer';
import { onnxLoraOf } from '../generate/onnx-graph';

/**
 * Largest logit difference, relative to the largest |logit|, that still counts as the same model. Both sides
 * compute in float32 and differ only in summation order: 1e-6 measured on SwiftShader vs wasm; 1e-3 leaves room
 * for a GPU's fused multiply-adds and long reductions while a wrong weight, mask or position moves logits by
 * whole percents.
 */
export const ONNX_CHECK_RTOL = 1e-3;

export interface OnnxCheck {
  /** max |onnx − engine| over the prompt's next-token logits. */
  maxAbsDiff: number;
  /** maxAbsDiff / max |engine logit|. */
  maxRelDiff: number;
  /** Both pick the same next token. */
  sameArgmax: boolean;
  /** Greedy decoding of `decodeSteps` tokens gave the same ids (a near-tie of two top logits can split them). */
  sameTokens: boolean;
  /** maxRelDiff ≤ ONNX_CHECK_RTOL and the same argmax and greedy tokens. */
  ok: boolean;
  /** Prompt forward (next-token logits), ms. */
  ortMs: number;
  engineMs: number;
  /** Greedy generation speed through the same loop (prefill included, after a short warm-up), tokens/s. */
  ortTokensPerSecond: number;
  engineTokensPerSecond: number;
  /** The backend with more tokens/s here. */
  faster: 'onnx' | 'webgpu';
}

interface OnnxCheckOptions {
  /** Tokens to generate for the speed figure (default 16). */
  decodeSteps?: number;
  /** Default ['wasm']. */
  executionProviders?: OnnxDecoderOptions['executionProviders'];
}

/** Checks `onnxBytes` (our export of `net`, merged or with LoRA inputs) against `net` on the prompt `ids`. */
export async function checkOnnxExport(ort: Ort, net: Transformer, onnxBytes: Uint8Array, ids: number[], opts: OnnxCheckOptions = {}): Promise<OnnxCheck> {
  if (ids.length === 0) throw new Error('ONNX check: empty prompt');
  const steps = opts.decodeSteps ?? 16;
  let onnx = await OnnxDecoder.create(ort, onnxBytes, net.config, { executionProviders: opts.executionProviders });
  try {
    if (onnx.takesLora && net.mode.kind === 'lora') onnx = onnx.withAdapter(await onnxLoraOf(net));
    const engine = transformerDecoder(net);
    const next = async (d: Decoder): Promise<{ logits: Float32Array; ms: number }> => {
      const seq = d.open(ids.length);
      try {
        const t0 = performance.now();
        const logits = await seq.append(ids);
        return { logits, ms: performance.now() - t0 };
      } finally {
        seq.close();
      }
    };
    const ours = await next(engine), theirs = await next(onnx);
    let maxAbsDiff = 0, scale = 0;
    for (let i = 0; i < ours.logits.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(theirs.logits[i] - ours.logits[i]));
      scale = Math.max(scale, Math.abs(ours.logits[i]));
    }
    const maxRelDiff = maxAbsDiff / Math.max(scale, 1e-30);
    const sameArgmax = argmax(theirs.logits) === argmax(ours.logits);

    // The engine generates as the studio does (batch.ts: sampling on the GPU), not through its logits decoder.
    const timed = async (d: Decoder | Transformer): Promise<{ tokens: number[]; perSecond: number }> => {
      const opts = { ...GREEDY, maxNewTokens: steps, stopTokenIds: [], stopStrings: [] };
      await generateAll(d, ids, { ...opts, maxNewTokens: 2 });   // one-off costs (shader compiles for one-token steps) are not speed
      const t0 = performance.now();
      const r = await generateAll(d, ids, opts);
      return { tokens: r.tokens, perSecond: r.tokens.length / Math.max(1e-9, (performance.now() - t0) / 1000) };
    };
    const engineGen = await timed(net), ortGen = await timed(onnx);
    const sameTokens = engineGen.tokens.length === ortGen.tokens.length && engineGen.tokens.every((t, i) => t === ortGen.tokens[i]);
    return {
      maxAbsDiff, maxRelDiff, sameArgmax, sameTokens,
      ok: maxRelDiff <= ONNX_CHECK_RTOL && sameArgmax && sameTokens,
      ortMs: theirs.ms, engineMs: ours.ms,
      ortTokensPerSecond: ortGen.perSecond, engineTokensPerSecond: engineGen.perSecond,
      faster: ortGen.perSecond > engineGen.perSecond ? 'onnx' : 'webgpu',
    };
  } finally {
    await onnx.release();
  }
}
