// A model's weights with each LoRA folded into its base, on the host: what the merged, GGUF and ONNX files carry.
//   Linear (llama family)  W [out, in]:  W' = W + s · B A        A [r, in], B [out, r], s = loraScale
//   Conv1D (GPT-2)         W [in, out]:  W' = W + s · (B A)^T    (PEFT's fan_in_fan_out)
// The product is accumulated in float64 and W' rounded once to f32.
// Not here: writing files (src/export), 16-bit rounding of the written weights.
import { loraNames } from './linear';
import type { Transformer } from './transformer';

/**
 * W' = W + s·B·A (or its transpose for Conv1D), float64 accumulation, one rounding to f32.
 * W is [out, in] (conv1d false) or [in, out] (conv1d true); A [r, in]; B [out, r].
 */
function mergeLoraWeight(W: Float32Array, A: Float32Array, B: Float32Array, dims: { inF: number; outF: number; rank: number; scale: number; conv1d: boolean }): Float32Array {
  const { inF, outF, rank, scale, conv1d } = dims;
  if (W.length !== inF * outF || A.length !== rank * inF || B.length !== outF * rank) {
    throw new Error(`mergeLoraWeight: sizes W ${W.length}, A ${A.length}, B ${B.length} do not fit in ${inF}, out ${outF}, r ${rank}`);
  }
  const out = new Float32Array(W.length);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let d = 0;
      for (let k = 0; k < rank; k++) d += B[o * rank + k] * A[k * inF + i];
      const at = conv1d ? i * outF + o : o * inF + i;
      out[at] = W[at] + scale * d;
    }
  }
  return out;
}

/**
 * Every parameter of the model as f32, with each LoRA folded into its base weight (fold false: the base alone).
 * A base kept 8-bit or 4-bit on the GPU is refused (its file exports would carry the quantisation error) unless
 * `dequantised` says the caller wants what the engine computes with (the ONNX decoder of Compare).
 */
export async function mergedWeights(model: Transformer, opts: { fold?: boolean; dequantised?: boolean } = {}): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const { params } = model;
  if ((model.frozenStorage === 'q8' || model.frozenStorage === 'q4') && model.mode.kind !== 'full' && !opts.dequantised) {
    throw new Error(`The base model is kept ${model.frozenStorage === 'q8' ? '8-bit' : '4-bit'} on the GPU; load it with its weights as shipped to export it merged`);
  }
  const lora = model.mode.kind === 'lora' ? await params.readTrainable() : new Map<string, Float32Array>();
  const loraParams = new Set<string>();
  for (const lin of model.linearModules()) if (lin.lora) { const n = loraNames(lin.name); loraParams.add(n.A); loraParams.add(n.B); }
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, spec] of params.specs) {
    if (loraParams.has(name)) continue;
    out.set(name, { shape: [...spec.shape], data: await params.read(name) });
  }
  for (const lin of model.linearModules()) {
    if (!lin.lora || opts.fold === false) continue;
    const { A, B } = loraNames(lin.name);
    const w = out.get(`${lin.name}.weight`)!;
    w.data = mergeLoraWeight(w.data, lora.get(A)!, lora.get(B)!, { inF: lin.inF, outF: lin.outF, rank: lin.lora.rank, scale: lin.lora.scale, conv1d: lin.conv1d });
  }
  return out;
}
