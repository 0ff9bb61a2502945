// Node only: installs Dawn's WebGPU (the `webgpu` package) as navigator.gpu, so the core runs unchanged in Node for
// tests and the command line, on the adapter chosen once per command: STUDIO_GPU (scripts/run-gpu.mjs sets it from
// `--gpu`), one of
//   auto         (default) a hardware GPU when the Vulkan loader finds one; else SwiftShader; else any software one
//   swiftshader  SwiftShader, the Vulkan ICD Debian's chromium package ships
//   lavapipe     Mesa's llvmpipe Vulkan driver (Mesa >= 25: scripts/ensure-system-deps.sh installs it)
// Why SwiftShader before lavapipe when there is no GPU: it is the adapter a browser without a GPU gives the page, the
// one the whole suite and the README's figures are proven on, and it compiles pipelines in a fraction of lavapipe's
// cold time (lavapipe runs warm steps faster, and has shader-f16 and a 128 MiB binding limit: ask for it).
// Contract: the Vulkan loader reads VK_ICD_FILENAMES when Dawn creates an instance, so the choice sets it in this
// process's environment (child processes inherit it) before the instance it keeps. A named adapter that is not
// installed, or that Dawn refuses, is an error naming it; `auto` honours a VK_ICD_FILENAMES set by the user.
// Never imported by the app bundle.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { adapterName, isSoftwareAdapter } from './adapter';

export const GPU_CHOICES = ['auto', 'swiftshader', 'lavapipe'] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

/** The Vulkan ICD of each named software adapter, and how to recognise the adapter Dawn then reports. */
const ICDS: Record<Exclude<GpuChoice, 'auto'>, { file: string; name: RegExp; install: string }> = {
  swiftshader: { file: '/usr/lib/chromium/vk_swiftshader_icd.json', name: /swiftshader/i, install: "Debian's chromium package" },
  lavapipe: { file: '/usr/share/vulkan/icd.d/lvp_icd.json', name: /llvmpipe|lavapipe/i, install: 'Mesa >= 25 (bash scripts/ensure-system-deps.sh)' },
};

/** STUDIO_GPU, checked: `auto` when unset. */
export function gpuChoice(env: Record<string, string | undefined> = process.env): GpuChoice {
  const value = (env.STUDIO_GPU ?? '').trim().toLowerCase() || 'auto';
  const choice = GPU_CHOICES.find((c) => c === value);
  if (!choice) throw new Error(`STUDIO_GPU (or --gpu) must be one of ${GPU_CHOICES.join(', ')}, not ${JSON.stringify(env.STUDIO_GPU).slice(0, 60)}`);
  return choice;
}

async function adapterOf(gpu: GPU): Promise<GPUAdapter | null> {
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

/** A Dawn instance on the named software adapter's ICD alone. */
async function named(choice: Exclude<GpuChoice, 'auto'>): Promise<GPU> {
  const icd = ICDS[choice];
  if (!existsSync(icd.file)) throw new Error(`--gpu ${choice}: ${icd.file} is missing; install ${icd.install}.`);
  process.env.VK_ICD_FILENAMES = icd.file;
  const gpu = create([]);
  const adapter = await adapterOf(gpu);
  if (!adapter) throw new Error(`--gpu ${choice}: Dawn found no adapter through ${icd.file} (too old a driver? needs ${icd.install}).`);
  if (!icd.name.test(adapterName(adapter.info))) throw new Error(`--gpu ${choice}: ${icd.file} gave another adapter (${adapterName(adapter.info)}).`);
  return gpu;
}

async function chosen(choice: GpuChoice): Promise<GPU> {
  if (choice !== 'auto') return named(choice);
  if (process.env.VK_ICD_FILENAMES) return create([]);
  const found = create([]);
  const adapter = await adapterOf(found);
  if (adapter && !isSoftwareAdapter(adapter.info)) return found;
  if (existsSync(ICDS.swiftshader.file)) return named('swiftshader');
  if (adapter) return found;
  throw new Error(`No WebGPU adapter in Node. Install a GPU driver, or Debian's chromium (SwiftShader: ${ICDS.swiftshader.file}).`);
}

/** navigator.gpu on the adapter STUDIO_GPU chooses (`choice` overrides it); a second call changes nothing. */
export async function installNodeWebGPU(choice: GpuChoice = gpuChoice()): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  if ((g.navigator as { gpu?: unknown } | undefined)?.gpu) return;
  Object.assign(globalThis, globals);
  const gpu = await chosen(choice);
  if (process.env.STUDIO_GPU_VERBOSE === '1') {
    const adapter = await adapterOf(gpu);
    process.stderr.write(`gpu: ${adapter ? adapterName(adapter.info) : 'none'} (--gpu ${choice}, VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''})\n`);
  }
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
}
