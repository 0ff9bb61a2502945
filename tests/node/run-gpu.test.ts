// The Node launcher (scripts/run-gpu.mjs) as a command sees it: `--gpu X` anywhere among the arguments chooses the
// adapter and is taken out before the command reads them; a wrong value is one line and exit 2; Dawn's start-up
// warnings never reach stderr unless STUDIO_GPU_VERBOSE=1, while the command's own lines (partial ones too) do.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, STUDIO_LAUNCHER } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'run-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const WARNING = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';
// A command that reports its arguments and adapter, and writes Dawn's warning amid its own stderr.
const script = join(dir, 'probe.ts');
writeFileSync(script, `
import { installNodeWebGPU } from '${join(REPO_ROOT, 'src/gpu/node')}';
import { createGpu } from '${join(REPO_ROOT, 'src/gpu/runtime')}';
import { gpuSummary } from '${join(REPO_ROOT, 'src/gpu/adapter')}';
process.stderr.write('before\\n${WARNING}\\n');
await installNodeWebGPU();
const gpu = await createGpu();
process.stdout.write(JSON.stringify({ args: process.argv.slice(2).filter((a) => a !== '--'), adapter: gpuSummary(gpu).adapter }) + '\\n');
process.stderr.write('after, no newline');
`);

function launch(args: string[], env: Record<string, string> = {}) {
  const { STUDIO_GPU: _ignored, ...rest } = process.env;
  const r = spawnSync(process.execPath, [STUDIO_LAUNCHER, script, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...rest, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scripts/run-gpu.mjs', () => {
  it('--gpu chooses the adapter and is not passed on; other arguments are, in order', () => {
    const r = launch(['--a', '1', '--gpu', 'swiftshader', 'b']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ args: ['--a', '1', 'b'], adapter: expect.stringMatching(/swiftshader/i) });
    expect(JSON.parse(launch(['--gpu=lavapipe']).out).adapter).toMatch(/llvmpipe/);
  });

  it('refuses an unknown adapter in one line', () => {
    const r = launch(['--gpu', 'nvidia']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('error: --gpu must be one of auto, swiftshader, lavapipe, not "nvidia"');
  });

  it("keeps Dawn's warnings off stderr, and the command's own lines on it; STUDIO_GPU_VERBOSE=1 shows them", () => {
    const quiet = launch(['--gpu', 'swiftshader']);
    expect(quiet.err).toBe('before\nafter, no newline');
    const verbose = launch(['--gpu', 'swiftshader'], { STUDIO_GPU_VERBOSE: '1' });
    expect(verbose.err).toContain(WARNING);
    expect(verbose.err).toMatch(/gpu: SwiftShader.*--gpu swiftshader/);
  });
});
