// Runs a TypeScript entry point of ours under vite-node (WGSL is imported with ?raw) with WebGPU available
// in Node: Dawn reads VK_ICD_FILENAMES once at start-up, so this probes for a real adapter first and, when
// there is none, points Dawn at SwiftShader (shipped by Debian's chromium package).
// Signals: SIGINT, SIGTERM and SIGHUP are passed on to the command, and if this launcher's own launcher goes
// (`npm run studio` killed with -9) the command is sent SIGTERM; the command watches for this launcher's
// death itself (cli/stop.ts). vite-node runs in one child process, started directly (not through npx, which
// would add a process that does not pass signals on).
// Usage: node scripts/run-gpu.mjs FILE.ts [args...]
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
const require = createRequire(import.meta.url);
const viteNode = join(dirname(require.resolve('vite-node/package.json')), require('vite-node/package.json').bin['vite-node']);
const child = spawn(process.execPath, [viteNode, entry, '--', ...args], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// `npm run` starts us through `sh -c`, which outlives a killed npm: watch the parent and its parent (Linux's
// /proc; elsewhere the parent only) and stop the command when either goes.
const parentOf = (pid) => { try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return null; } };
const launchers = () => [process.ppid, parentOf(process.ppid)];
const first = launchers();
setInterval(() => { if (launchers().some((pid, i) => pid !== first[i])) child.kill('SIGTERM'); }, 500).unref();
// The command's own status, as a shell would say it: a stop it cleaned up after ends it by that signal (cli/stop.ts),
// 128 + the signal's number; a crash says which one it was (139 for SIGSEGV), never the stop's.
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
