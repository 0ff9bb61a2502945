// Hands weights to the independent PyTorch oracle (tests/node/*.py): raw float32 files + a JSON manifest
// in a temporary folder, run Debian's /usr/bin/python3 (python3-torch), read back its JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RawTensor { shape: number[]; data: Float32Array }

export class TorchOracle {
  readonly dir = mkdtempSync(join(tmpdir(), 'torch-oracle-'));

  writeManifest(tensors: Map<string, RawTensor>, extra: Record<string, unknown>): void {
    const index: Record<string, { file: string; shape: number[] }> = {};
    let i = 0;
    for (const [name, w] of tensors) {
      const file = `t${i++}.f32`;
      writeFileSync(join(this.dir, file), Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
      index[name] = { file, shape: w.shape };
    }
    writeFileSync(join(this.dir, 'manifest.json'), JSON.stringify({ ...extra, tensors: index }));
  }

  run<T>(script: string, args: string[], resultFile: string): T {
    execFileSync('/usr/bin/python3', [join(__dirname, '..', 'node', script), this.dir, ...args], { stdio: 'inherit' });
    return JSON.parse(readFileSync(join(this.dir, resultFile), 'utf8')) as T;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** max |a - e| / max |e|: error relative to the largest magnitude. */
export function relMax(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / Math.max(scale, 1e-30);
}
