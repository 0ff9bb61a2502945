// What a Gpu runs on, said one way everywhere: the one rule that calls an adapter a software one (kernel choices,
// the memory probe's cap, the decoder choice, the page's warning), and the summary a command's --json and the
// Train tab show.
//
// Contract: `isSoftwareAdapter` is true for CPU rasterisers: SwiftShader (Chromium's, and Dawn's Vulkan ICD),
// Mesa's llvmpipe/lavapipe and softpipe, Microsoft's WARP ("Basic Render Driver"), and any adapter the browser
// marks as a fallback. `gpuSummary` reads the device the Gpu holds: features are what was granted, not what the
// adapter offers.
// `gpuLine` is that summary in words, the same in `studio info` and on the Train tab.
// Not here: choosing the adapter in Node (node.ts), requesting features (runtime.ts createGpu).
import { mib } from './memory';

/** The adapter's self-description, as GPUAdapterInfo gives it (any field may be empty: browsers may withhold them). */
export interface AdapterIdentity {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|\bwarp\b/i;

/** True on a CPU rasteriser, where kernel choices differ from real GPUs and GPU memory is host memory. */
export function isSoftwareAdapter(info: AdapterIdentity): boolean {
  if (info.isFallbackAdapter === true) return true;
  if (/^(swiftshader|software|cpu)$/i.test(info.architecture ?? '')) return true;
  return SOFTWARE_NAMES.test(`${info.description ?? ''} ${info.device ?? ''} ${info.vendor ?? ''}`);
}

/** One line naming the adapter: its description, else what the browser does tell. */
export function adapterName(info: AdapterIdentity): string {
  const description = info.description?.trim();
  if (description) return description;
  const parts = [info.vendor, info.architecture, info.device].map((s) => s?.trim()).filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : 'unknown adapter';
}

/** What a command says it ran on (`gpu` in --json). */
export interface GpuSummary {
  adapter: string;
  /** The device has shader-f16 (the f16 kernels may run). */
  f16: boolean;
  /** The device has subgroups (the subgroup kernel variants may run). */
  subgroups: boolean;
  maxStorageBufferBindingSize: number;
}

/** The summary of a device and the adapter it came from. */
export function gpuSummary(gpu: { device: GPUDevice; adapterInfo: AdapterIdentity }): GpuSummary {
  return {
    adapter: adapterName(gpu.adapterInfo),
    f16: gpu.device.features.has('shader-f16'),
    subgroups: gpu.device.features.has('subgroups'),
    maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize,
  };
}

/** The summary as one line of text: the adapter, its fast paths and the binding limit the model is split under. */
export function gpuLine(g: GpuSummary): string {
  const yes = (on: boolean) => (on ? 'yes' : 'no');
  return `${g.adapter}; shader-f16 ${yes(g.f16)}, subgroups ${yes(g.subgroups)}, storage binding limit ${mib(g.maxStorageBufferBindingSize)}`;
}
