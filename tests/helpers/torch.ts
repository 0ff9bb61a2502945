// Hands weights to a Python oracle (tests/oracle/*.py): raw float32 files + a JSON manifest
// in a temporary folder, run the repository's .venv Python (real torch; scripts/ensure-python-venv.sh), read back
// its JSON. transformers.ts builds the transformers reference on this exchange format.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The .venv Python (real torch, transformers, peft); a clear error when the venv was not built. */
export function venvPython(): string {
  const python = resolve(__dirname, '..', '..', '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/ensure-python-venv.sh (npm test does)`);
  return python;
}

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
    execFileSync(venvPython(), [join(__dirname, '..', 'oracle', script), this.dir, ...args], { stdio: 'inherit' });
    return this.readJson<T>(resultFile);
  }

  readJson<T>(file: string): T {
    return JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as T;
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
