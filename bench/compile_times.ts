// Cold pipeline compile time per kernel: what a first step waits for on a driver whose shader cache is empty.
// A fresh device builds the LoRA bench model (lora_step.ts) and its first training step's dispatches are captured
// instead of run; each distinct pipeline's first dispatch is then run alone and waited for, twice. The first run
// compiles (drivers differ in when: Dawn's createComputePipeline, or the driver at first use, as lavapipe's LLVM
// does), the second does not: compile = first - second, creation included. Summed per kernel label.
// Contract: cold only on a fresh device of a browser profile or process whose driver cache is empty (the page driver
// uses a fresh profile; the Node driver points Mesa's cache at an empty folder); run it before anything else compiles.
// Not here: choosing the adapter, warm compile times.
import type { DispatchOptions } from '../src/gpu/runtime';
import { createGpu } from '../src/gpu/runtime';
import { buildLoraBench } from './lora_step';

export interface KernelCompileTime {
  kernel: string;
  /** Distinct pipelines (constants, layouts) of this kernel in the step. */
  pipelines: number;
  ms: number;
}

export async function coldCompileTimes(): Promise<{ totalMs: number; kernels: KernelCompileTime[] }> {
  const gpu = await createGpu();
  const { model, trainer } = buildLoraBench(gpu);
  await gpu.sync();
  // Captured, not run: the step's reads give zeros meanwhile, which the step takes as a finite loss.
  const captured: DispatchOptions[] = [];
  const dispatch = gpu.dispatch.bind(gpu);
  gpu.dispatch = (o) => { captured.push(o); };
  try {
    await trainer.step();
  } finally {
    gpu.dispatch = dispatch;
  }
  const seen = new Set<string>();
  const byKernel = new Map<string, KernelCompileTime>();
  for (const o of captured) {
    const key = `${o.entryPoint}|${JSON.stringify(o.constants ?? {})}|${o.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const run = async () => { const t0 = performance.now(); dispatch(o); await gpu.sync(); return performance.now() - t0; };
    const first = await run();
    const again = await run();
    const k = byKernel.get(o.label) ?? { kernel: o.label, pipelines: 0, ms: 0 };
    k.pipelines++;
    k.ms += Math.max(0, first - again);
    byKernel.set(o.label, k);
  }
  model.destroy();
  gpu.destroy();
  gpu.device.destroy();
  const kernels = [...byKernel.values()].map((k) => ({ ...k, ms: Number(k.ms.toFixed(1)) })).sort((a, b) => b.ms - a.ms);
  return { totalMs: Number(kernels.reduce((n, k) => n + k.ms, 0).toFixed(1)), kernels };
}
