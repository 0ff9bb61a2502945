// Runs a TypeScript entry point of ours under vite-node (WGSL is imported with ?raw) with WebGPU available in Node.
// The adapter is chosen once per command: `--gpu auto|swiftshader|lavapipe` anywhere among the arguments (taken out
// before the command sees them) or STUDIO_GPU; src/gpu/node.ts applies it (default auto: a hardware GPU, else
// SwiftShader). Dawn's start-up warnings ("maxDynamic…BuffersPerPipelineLayout artificially reduced") are kept off
// stderr unless STUDIO_GPU_VERBOSE=1; every other line passes through as it comes.
// Signals: SIGINT, SIGTERM and SIGHUP are passed on to the command, and if this launcher's own launcher goes
// (`npm run studio` killed with -9) the command is sent SIGTERM; the command watches for this launcher's
// death itself (cli/stop.ts). vite-node runs in one child process, started directly (not through npx, which
// would add a process that does not pass signals on).
// Usage: node scripts/run-gpu.mjs FILE.ts [--gpu auto|swiftshader|lavapipe] [args...]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const GPU_CHOICES = ['auto', 'swiftshader', 'lavapipe']; // src/gpu/node.ts GPU_CHOICES
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-gpu.mjs FILE.ts [--gpu auto|swiftshader|lavapipe] [args...]');
  process.exit(2);
}
const env = { ...process.env };
const args = [];
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  const value = a === '--gpu' ? rest[++i] : a.startsWith('--gpu=') ? a.slice(6) : null;
  if (value === null) { args.push(a); continue; }
  if (!GPU_CHOICES.includes(value ?? '')) {
    console.error(`error: --gpu must be one of ${GPU_CHOICES.join(', ')}${value === undefined ? '' : `, not ${JSON.stringify(value).slice(0, 60)}`}`);
    process.exit(2);
  }
  env.STUDIO_GPU = value;
}
// Vulkan's loader complains on stderr when the session has no runtime folder (root shells, CI); give it one so
// a failing command prints only its own one-line error.
if (!env.XDG_RUNTIME_DIR) {
  env.XDG_RUNTIME_DIR = join(tmpdir(), `runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
const require = createRequire(import.meta.url);
const viteNode = join(dirname(require.resolve('vite-node/package.json')), require('vite-node/package.json').bin['vite-node']);
const verbose = env.STUDIO_GPU_VERBOSE === '1';
const child = spawn(process.execPath, [viteNode, entry, '--', ...args], { stdio: ['inherit', 'inherit', verbose ? 'inherit' : 'pipe'], env });
if (!verbose) {
  // Whole lines are checked; a partial line (progress redrawn with \r) passes at once unless it may begin a warning.
  const DAWN_WARNING = /^Warning: maxDynamic\w+BuffersPerPipelineLayout artificially reduced/;
  const PREFIX = 'Warning: maxDynamic';
  let held = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (held + chunk).split('\n');
    held = lines.pop();
    for (const line of lines) if (!DAWN_WARNING.test(line)) process.stderr.write(`${line}\n`);
    if (!(PREFIX.startsWith(held) || held.startsWith(PREFIX))) { process.stderr.write(held); held = ''; }
  });
  child.stderr.on('end', () => { if (held && !DAWN_WARNING.test(held)) process.stderr.write(held); });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// `npm run` starts us through `sh -c`, which outlives a killed npm: watch the parent and its parent (Linux's
// /proc; elsewhere the parent only) and stop the command when either goes.
const parentOf = (pid) => { try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return null; } };
const launchers = () => [process.ppid, parentOf(process.ppid)];
const first = launchers();
setInterval(() => { if (launchers().some((pid, i) => pid !== first[i])) child.kill('SIGTERM'); }, 500).unref();
// The command's own status, as a shell would say it: a stop it cleaned up after ends it by that signal (cli/stop.ts),
// 128 + the signal's number; a crash says which one it was (139 for SIGSEGV), never the stop's.
// 'close', not 'exit': the command's last stderr lines pass through the filter above before this process ends.
child.on('close', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
