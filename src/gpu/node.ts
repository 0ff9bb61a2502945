// Node only: installs Dawn's WebGPU (the `webgpu` package) as navigator.gpu, so the core runs unchanged
// in Node for tests and the command line. Without a GPU, Dawn finds SwiftShader through the Vulkan ICD
// that Debian's chromium package ships; the loader reads VK_ICD_FILENAMES once per process, so entry
// points set it before start (vitest.config.ts, cli/). Never imported by the app bundle.
import { create, globals } from 'webgpu';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function installNodeWebGPU(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  if ((g.navigator as { gpu?: unknown } | undefined)?.gpu) return;
  Object.assign(globalThis, globals);
  const gpu = create([]);
  if (!(await gpu.requestAdapter())) {
    throw new Error(`No WebGPU adapter in Node. Install a GPU driver, or Debian's chromium and set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}.`);
  }
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
}
