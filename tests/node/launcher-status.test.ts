// The launcher (scripts/run-gpu.mjs) says how its command ended, as a shell would: the command's exit code, or
// 128 + the signal that ended it. A command that crashes after a stop reads as a crash (139 for SIGSEGV), never as
// the stop (docs/dawn-exit-crash.md); a stop the command cleaned up after reads as the stop (143), without the
// command's exit handlers running (cli/stop.ts). The commands here are a few lines of TypeScript in a temporary file.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, STUDIO_LAUNCHER } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'launcher-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `source` through the launcher (sending `signal` once it prints "ready"); its exit code and output. */
function launch(source: string, signal?: NodeJS.Signals): Promise<{ code: number | null; out: string }> {
  const file = join(dir, `command-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  const child = spawn(process.execPath, [STUDIO_LAUNCHER, file], { cwd: REPO_ROOT });
  let out = '';
  const collect = (d: Buffer) => { out += d; if (signal && out.includes('ready')) { child.kill(signal); signal = undefined; } };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((ok) => child.on('exit', (code) => ok({ code, out })));
}

describe('the launcher passes its command\'s end on', () => {
  it('an exit code as it is, a crash as the signal it was', async () => {
    expect((await launch('process.exit(3);')).code).toBe(3);
    expect((await launch("process.kill(process.pid, 'SIGSEGV');")).code).toBe(139);
  }, 120_000);

  it('a stop as the stop, with the cleanup said and no exit handler run', async () => {
    const stopTs = join(REPO_ROOT, 'cli/stop.ts');
    const { code, out } = await launch(`import { installStopHandlers, onStop } from ${JSON.stringify(stopTs)};
installStopHandlers();
onStop(() => 'cleaned up');
process.on('exit', () => process.stderr.write('exit handler ran\\n'));
console.log('ready');
setInterval(() => {}, 1000);
`, 'SIGTERM');
    expect(code).toBe(143);
    expect(out).toContain('error: interrupted by SIGTERM; cleaned up');
    expect(out).not.toContain('exit handler ran');
  }, 120_000);
});
