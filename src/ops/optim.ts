// The optimizer: global gradient norm and AdamW over ONE flat parameter buffer (params, grads, m, v and the
// decay mask share one layout, so one dispatch per binding window updates every trainable tensor), and float64
// CPU references.
//
// Shapes: params, grads, m, v, decayMask: f32 [n] (views allowed); norm: f32 [1].
// Contract:
//   gradNorm:    out[0] = sqrt(sum_i grads[i]^2), on the GPU, no readback. Deterministic: a fixed-order two-stage
//                reduction whose order depends only on n, the layout (gradNormLayout: per adapter kind, or autotune's
//                choice), the binding windows and, for 'subgroup', the device's subgroup layout.
//   adamwUpdate: one torch.optim.AdamW step (decoupled decay p -= lr*wd*p, then the moments, then the
//                bias-corrected step), with the gradient first multiplied by
//                clip = min(1, maxGradNorm / (norm[0] + 1e-6)) when maxGradNorm > 0 and norm is given
//                (torch.nn.utils.clip_grad_norm_). decayMask[i] (1 = decay, 0 = none) lets biases and norms skip
//                decay. grads are left unscaled. `step` is 1-based (the bias correction of the first update is 1 - beta).
// Binding windows: a flat table over maxStorageBufferBindingSize (full fine-tuning past ~33M parameters at the
//   default 128 MiB) cannot be bound whole, so both ops run over consecutive windows of it, each within
//   `maxBindingBytes` and starting on a view boundary (planRowBlocks with one column). gradNorm's first stage
//   writes every window's partial sums into one partials buffer and a single finish pass adds them all before
//   the square root; AdamW runs per window with the same scalars and the same norm. When n fits one binding
//   there is one window: the same dispatches as an unwindowed op.
// Not here: the learning-rate schedule (src/train/schedule.ts), zeroing grads, reading the norm for metrics.
import { type Gpu, type Tensor } from '../gpu/runtime';
import { deviceLimits, planRowBlocks } from '../gpu/limits';
import { elementwiseGrid } from './grid';
import gradNormWgsl from './optim_gradnorm.wgsl?raw';
import gradNormSubgroupWgsl from './optim_gradnorm_subgroup.wgsl?raw';
import subgroupSumWgsl from './subgroup_sum.wgsl?raw';
import adamwWgsl from './optim_adamw.wgsl?raw';

const WG = 256;

/** n consecutive elements of the flat buffers; `of(t)` is t's part (t itself when there is one window). */
interface BindingWindow { n: number; of(t: Tensor): Tensor }

/** [0, n) cut into windows of at most maxBindingBytes each: the row blocks of an [n, 1] tensor (planRowBlocks). */
function bindingWindows(gpu: Gpu, op: string, n: number, maxBindingBytes: number): BindingWindow[] {
  const plan = planRowBlocks(op, n, 1, maxBindingBytes);
  return plan.map(({ first, rows }) => ({
    n: rows,
    of: (t: Tensor) => (plan.length === 1 ? t : gpu.view(t, first, [rows], `${t.label}[${first}:${first + rows}]`)),
  }));
}

/** gradNorm's layout (optim_gradnorm.wgsl): a workgroup-memory tree, one partial per invocation, or the tree's
 *  grid with subgroup sums (devices with `subgroups`). */
export type GradNormLayout = 'tree' | 'perInvocation' | 'subgroup';
export const GRAD_NORM_LAYOUTS: readonly GradNormLayout[] = ['tree', 'perInvocation', 'subgroup'];

const GRAD_NORM_SUBGROUP_WGSL = `${subgroupSumWgsl}\n${gradNormWgsl}\n${gradNormSubgroupWgsl}`;
const chosen = new WeakMap<Gpu, GradNormLayout>();

/** Sets the layout gradNormLayout gives on this device (autotune's result); null restores the default. */
export function setGradNormLayout(gpu: Gpu, layout: GradNormLayout | null): void {
  if (layout === null) chosen.delete(gpu);
  else chosen.set(gpu, layout);
}

/**
 * Real GPUs: the tree, up to 256 workgroups of 256, then one workgroup adds the partials. Software adapters
 * (SwiftShader, measured 2026-11-26 at n = 1e6: 1.5-3 s with the tree, where a 256-wide workgroup with barriers
 * costs ~10 ms, against 0.1 s): 1024 barrier-free invocations each sum a strided slice, then one invocation adds
 * the 1024 partials in order.
 */
export function gradNormLayout(gpu: Gpu): GradNormLayout {
  return chosen.get(gpu) ?? (gpu.isSoftware ? 'perInvocation' : 'tree');
}

function gradNormGrid(layout: GradNormLayout, n: number) {
  if (layout === 'perInvocation') {
    const WG = 64, groups = Math.min(16, Math.max(1, Math.ceil(n / WG)));
    return { entryPoint: 'sumSquaresPerInvocation', WG, groups, partials: groups * WG, finishWG: 1 };
  }
  const groups = Math.min(256, Math.max(1, Math.ceil(n / WG)));
  return { entryPoint: layout === 'subgroup' ? 'sumSquaresSubgroup' : 'sumSquares', WG, groups, partials: groups, finishWG: WG };
}

interface GradNormOptions {
  /** Default: gradNormLayout(gpu). */
  layout?: GradNormLayout;
  /** Largest storage binding in bytes; default the device's (the model's is ParamTable.limits.maxBindingBytes). */
  maxBindingBytes?: number;
}

export function gradNorm(gpu: Gpu, out: Tensor, grads: Tensor, n: number, opts: GradNormOptions = {}): void {
  const { layout = gradNormLayout(gpu), maxBindingBytes = deviceLimits(gpu).maxBindingBytes } = opts;
  if (grads.size < n) throw new Error(`gradNorm: grads (${grads.label}) has ${grads.size} elements, needs ${n}`);
  if (layout === 'subgroup' && !gpu.subgroups) throw new Error('gradNorm: the subgroup layout needs a device with the subgroups feature');
  const code = layout === 'subgroup' ? GRAD_NORM_SUBGROUP_WGSL : gradNormWgsl;
  // Stage 1 per window into its own slice of one partials buffer: [window 0's partials, window 1's, ...].
  const windows = bindingWindows(gpu, `gradNorm(${grads.label})`, n, maxBindingBytes)
    .map((w) => ({ ...w, grid: gradNormGrid(layout, w.n) }));
  const total = windows.reduce((s, w) => s + w.grid.partials, 0);
  const partials = gpu.tensor([total], 'gradNorm.partials');
  let dstOffset = 0;
  for (const w of windows) {
    gpu.dispatch({
      code, entryPoint: w.grid.entryPoint, label: `gradNorm.partials.${w.grid.entryPoint}`,
      bindings: [w.of(grads), partials], params: [w.n, 1, 0, dstOffset], workgroups: [w.grid.groups],
      constants: { WG: w.grid.WG },
    });
    dstOffset += w.grid.partials;
  }
  const { entryPoint, finishWG } = windows[0].grid;
  gpu.dispatch({
    code, entryPoint, label: `gradNorm.finish.${entryPoint}`,
    bindings: [partials, out], params: [total, 0, 1, 0], workgroups: [1], constants: { WG: finishWG },
  });
  gpu.release(partials); // reuse is ordered after these dispatches on the queue
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based optimizer step, for the bias correction. */
  step: number;
  /** Clip the global gradient norm to this; 0 = no clipping. */
  maxGradNorm: number;
}

/** The scalars of one step, computed in float64 as PyTorch computes them in Python. */
function stepScalars(o: AdamWOptions) {
  if (!(o.step >= 1)) throw new Error(`adamw: step is 1-based, got ${o.step}`);
  return {
    lrWd: o.lr * o.weightDecay,
    oneMinusBeta1: 1 - o.beta1,
    oneMinusBeta2: 1 - o.beta2,
    stepSize: o.lr / (1 - o.beta1 ** o.step),
    bc2Sqrt: Math.sqrt(1 - o.beta2 ** o.step),
  };
}

/** maxBindingBytes: the largest storage binding; default the device's (the model's is ParamTable.limits.maxBindingBytes). */
export function adamwUpdate(
  gpu: Gpu, params: Tensor, grads: Tensor, m: Tensor, v: Tensor, norm: Tensor | null, n: number,
  opts: AdamWOptions, decayMask?: Tensor, maxBindingBytes = deviceLimits(gpu).maxBindingBytes,
): void {
  for (const [t, name] of [[params, 'params'], [grads, 'grads'], [m, 'm'], [v, 'v'], [decayMask, 'decayMask']] as const) {
    if (t && t.size < n) throw new Error(`adamw: ${name} (${t.label}) has ${t.size} elements, needs ${n}`);
  }
  const useNorm = opts.maxGradNorm > 0 && norm !== null;
  if (opts.maxGradNorm > 0 && norm === null) throw new Error('adamw: maxGradNorm > 0 needs the norm tensor (gradNorm)');
  const s = stepScalars(opts);
  const normBinding = useNorm ? norm : gpu.absent(0);
  for (const w of bindingWindows(gpu, 'adamw', n, maxBindingBytes)) {
    gpu.dispatch({
      code: adamwWgsl, entryPoint: 'update', label: 'adamw.update',
      bindings: [w.of(params), w.of(grads), w.of(m), w.of(v), normBinding, decayMask ? w.of(decayMask) : gpu.absent(1)],
      params: {
        u32: [w.n, useNorm ? 1 : 0, decayMask ? 1 : 0],
        f32: [s.lrWd, opts.beta1, s.oneMinusBeta1, opts.beta2, s.oneMinusBeta2, s.stepSize, s.bc2Sqrt, opts.eps, opts.maxGradNorm],
      },
      workgroups: elementwiseGrid(w.n, WG), constants: { WG },
    });
  }
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

export function gradNormCpu(grads: ArrayLike<number>, n = grads.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += grads[i] * grads[i];
  return Math.sqrt(s);
}

/** One AdamW step in float64; returns the new params and moments (inputs untouched) and the norm it clipped by. */
export function adamwCpu(
  params: ArrayLike<number>, grads: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, n: number,
  opts: AdamWOptions, decayMask?: ArrayLike<number>,
): { params: Float64Array; m: Float64Array; v: Float64Array; norm: number } {
  const s = stepScalars(opts);
  const norm = gradNormCpu(grads, n);
  const clip = opts.maxGradNorm > 0 ? Math.min(1, opts.maxGradNorm / (norm + 1e-6)) : 1;
  const p2 = new Float64Array(n), m2 = new Float64Array(n), v2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = grads[i] * clip;
    const w = params[i] * (1 - s.lrWd * (decayMask ? decayMask[i] : 1));
    m2[i] = opts.beta1 * m[i] + s.oneMinusBeta1 * g;
    v2[i] = opts.beta2 * v[i] + s.oneMinusBeta2 * g * g;
    p2[i] = w - s.stepSize * (m2[i] / (Math.sqrt(v2[i]) / s.bc2Sqrt + opts.eps));
  }
  return { params: p2, m: m2, v: v2, norm };
}
