// The studio's command line as a test runs it: `npm run studio -- ...` is scripts/run-gpu.mjs cli/studio.ts, run
// from the repository root.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');
/** The launcher `npm run studio` starts (tests spawn it directly to signal it). */
export const STUDIO_LAUNCHER = join(REPO_ROOT, 'scripts/run-gpu.mjs');

/** Runs one CLI command to its end: exit code and both streams. */
export function studio(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A command that must succeed with --json: its JSON object (the last stdout line). */
export function studioJson(...args: string[]): Record<string, unknown> {
  const r = studio(...args);
  if (r.code !== 0) throw new Error(`studio ${args[0]} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** `studio` without blocking the event loop, for a command that talks to a server the test itself runs. */
export function studioAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
