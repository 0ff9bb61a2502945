// `npm test`: the whole suite. Installs missing system packages and the Python oracle's .venv, type-checks, runs every vitest project
// (Node + Dawn, headless Chromium) and prints one closing line "Tests: N passed, N failed, N skipped".
// Extra arguments go to vitest (e.g. `npm test -- tests/gpu/gelu.test.ts`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

if (run('bash', ['scripts/ensure-system-deps.sh']) !== 0) process.exit(1);
// .venv: real torch + transformers + peft, the oracle of the parity and export tests (built offline from the local mirror).
if (run('bash', ['scripts/ensure-python-venv.sh']) !== 0) process.exit(1);

// Vulkan's loader (Dawn in Node) prints an error for every device when the session has no runtime folder
// (root shells, CI): give it one, as scripts/run-gpu.mjs does, so test logs show only the tests.
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(tmpdir(), `runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}

const extra = process.argv.slice(2);
const full = extra.length === 0;
if (full && run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']) !== 0) {
  console.error('Type check failed.');
  console.log('Tests: 0 passed, 1 failed');
  process.exit(1);
}

mkdirSync('.vitest', { recursive: true });
const out = '.vitest/results.json';
const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extra]);

let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  // A file that fails without a failing test (it did not load, a hook threw) counts as one failure; the
  // suites around a failing test do not count again.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  passed = r.numPassedTests; failed = r.numFailedTests + brokenFiles;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status !== 0 || failed > 0 || passed === 0 ? 1 : 0);
