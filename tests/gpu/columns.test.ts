// copyColumns (GPT-2's qkv split and its backward concat) vs the CPU reference: exact copies.
import { describe, it } from 'vitest';
import { copyColumns, copyColumnsCpu } from '../../src/ops/columns';
import { expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

describe('copyColumns', () => {
  for (const [N, cols, col, width] of [[1, 3, 1, 1], [5, 96, 32, 32], [67, 30, 20, 10]]) {
    it(`copies a ${width}-wide block at column ${col} of ${N}x${cols}`, async () => {
      const gpu = await testGpu();
      const src = randn(N * cols, N + cols);
      const dst0 = randn(N * width * 2, 5);
      const s = gpu.fromArray([N, cols], src, 'src'), d = gpu.fromArray([N, width * 2], dst0, 'dst');
      copyColumns(gpu, d, width * 2, width, s, cols, col, width, N);
      const want = Float32Array.from(dst0);
      copyColumnsCpu(want, width * 2, width, src, cols, col, width, N);
      expectClose(await gpu.read(d), want, { rtol: 0, atol: 0 }, 'copyColumns');
      gpu.release(s, d);
    });
  }
});
