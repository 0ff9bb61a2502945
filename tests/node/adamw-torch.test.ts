// AdamW + clip_grad_norm_ against PyTorch itself (the .venv's torch, scripts/ensure-python-venv.sh; the oracle is
// tests/oracle/adamw_torch.py, run once for all cases): 5 steps on the same f32 numbers, with the learning rate of
// a warm-up + cosine schedule (step 0 runs at lr 0, as in transformers), weight decay with a decay mask,
// clipping on and off.
// Tolerance: both sides compute in f32 with the same formula; rtol 1e-5, with atol for values crossing zero:
// params 1e-7 (f32 ulp at |p| ~ 1 is 6e-8), m 1e-9, v 1e-12 (v ~ 1e-6).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { adamwUpdate, gradNorm } from '../../src/ops/optim';
import { learningRate } from '../../src/train/schedule';
import { expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { venvPython } from '../helpers/torch';

const ORACLE = fileURLToPath(new URL('../oracle/adamw_torch.py', import.meta.url));
const TIMEOUT = 60_000; // importing torch takes seconds on a loaded 2-core machine

interface Case {
  p0: number[]; grads: number[][]; lrs: number[]; decayMask: number[];
  beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number;
}
interface TorchResult { params: number[]; m: number[]; v: number[]; norms: number[] }

function makeCase(maxGradNorm: number): Case {
  const n = 1001, steps = 5;
  return {
    p0: [...randn(n, 21)],
    grads: Array.from({ length: steps }, (_, s) => [...randn(n, 300 + s, 0.05)]),
    lrs: Array.from({ length: steps }, (_, s) => learningRate({ schedule: 'cosine', lr: 1e-2, warmupSteps: 1, totalSteps: steps }, s)),
    decayMask: Array.from({ length: n }, (_, i) => (i % 5 === 1 ? 0 : 1)),
    beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm,
  };
}

const CASES = [makeCase(0.3), makeCase(0)];

function runTorch(cases: Case[]): TorchResult[] {
  const r = spawnSync(venvPython(), [ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', timeout: TIMEOUT, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`adamw_torch.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResult[];
}

describe('adamw vs PyTorch', () => {
  let torch: TorchResult[] = [];
  beforeAll(() => { torch = runTorch(CASES); }, TIMEOUT);

  CASES.forEach((c, k) => {
    it(`5 steps match torch.optim.AdamW${c.maxGradNorm ? ' + clip_grad_norm_' : ''}`, async () => {
      const ref = torch[k];
      const gpu = await testGpu();
      const n = c.p0.length;
      const params = gpu.fromArray([n], c.p0, 'params'), g = gpu.tensor([n], 'grads');
      const m = gpu.zeros([n], 'm'), v = gpu.zeros([n], 'v'), mask = gpu.fromArray([n], c.decayMask, 'decayMask');
      const norm = gpu.tensor([1], 'norm');
      const norms: number[] = [];
      for (let s = 0; s < c.grads.length; s++) {
        gpu.write(g, c.grads[s]);
        gradNorm(gpu, norm, g, n);
        adamwUpdate(gpu, params, g, m, v, c.maxGradNorm > 0 ? norm : null, n, { ...c, lr: c.lrs[s], step: s + 1 }, mask);
        norms.push((await gpu.read(norm))[0]);
      }
      expectClose(await gpu.read(params), ref.params, { rtol: 1e-5, atol: 1e-7 }, 'adamw.params vs torch');
      expectClose(await gpu.read(m), ref.m, { rtol: 1e-5, atol: 1e-9 }, 'adamw.m vs torch');
      expectClose(await gpu.read(v), ref.v, { rtol: 1e-5, atol: 1e-12 }, 'adamw.v vs torch');
      if (c.maxGradNorm > 0) {
        expectClose(norms, ref.norms, { rtol: 1e-5, atol: 0 }, 'gradNorm vs torch');
        expect(Math.min(...ref.norms)).toBeGreaterThan(c.maxGradNorm); // clipping acted at every step
      }
      gpu.release(params, g, m, v, mask, norm);
    }, TIMEOUT);
  });
});
