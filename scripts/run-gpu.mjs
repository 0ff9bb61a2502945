// Runs a TypeScript entry point of ours under vite-node (WGSL is imported with ?raw) with WebGPU available
// in Node: Dawn reads VK_ICD_FILENAMES once at start-up, so this probes for a real adapter first and, when
// there is none, points Dawn at SwiftShader (shipped by Debian's chromium package).
// Usage: node scripts/run-gpu.mjs FILE.ts [args...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-gpu.mjs FILE.ts [args...]');
  process.exit(2);
}
const env = { ...process.env };
if (!env.VK_ICD_FILENAMES) {
  const probe = spawnSync(process.execPath, ['-e',
    "import('webgpu').then(m => m.create([]).requestAdapter()).then(a => process.exit(a ? 0 : 1), () => process.exit(1))"], { stdio: 'ignore' });
  if (probe.status !== 0 && existsSync(ICD)) env.VK_ICD_FILENAMES = ICD;
}
// Vulkan's loader complains on stderr when the session has no runtime folder (root shells, CI); give it one so
// a failing command prints only its own one-line error.
if (!env.XDG_RUNTIME_DIR) {
  env.XDG_RUNTIME_DIR = join(tmpdir(), `runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
const r = spawnSync('npx', ['vite-node', entry, '--', ...args], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
