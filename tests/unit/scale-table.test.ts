// The README's real-size tables from scale JSONs (scripts/scale-table.ts): each number lands in its model's row
// and its mode's column, cases not built read '–', a greedy mismatch stands out, each run's built cases carry its
// adapter, the kernels of a timed step are ranked by their share, and only the text between the README's markers is
// replaced.
import { describe, expect, it } from 'vitest';
import { replaceScaleSection, scaleTables, SCALE_BEGIN, SCALE_END, type ScaleMode, type ScaleRun } from '../../scripts/scale-table';

const mode = (weights: string, checkpointing: boolean, batch: string, estimatedGiB: number, pytorchPeftGiB: number): ScaleMode =>
  ({ weights, checkpointing, batch, estimatedGiB, pytorchPeftGiB });

const RUN: ScaleRun = {
  adapter: 'SwiftShader driver 5.0.0 (software; its GPU memory is host memory)',
  stepTokens: '1x128',
  results: [
    {
      model: 'Small', parameters: 134_515_008,
      modes: [mode('bf16', false, '1x512', 0.841, 0.762), mode('bf16', true, '1x512', 0.403, 0.524), mode('q4', false, '1x512', 0.66, 0.7), mode('q4', true, '1x512', 0.22, 0.38),
        mode('bf16', true, '4x512', 0.618, 1.303)],
      live: [
        { weights: 'bf16', modelBytes: 2 ** 30 * 0.25, estimatedModelBytes: 2 ** 30 * 0.5, loadSeconds: 3.54, hostPeakBytes: 2 ** 30 * 1.5,
          steps: [{ checkpointing: false, seconds: 99.1, compileSeconds: 3, loss: 10.95691, liveBytes: 2 ** 30 * 0.5, estimatedBytes: 2 ** 30 * 0.625 }, { checkpointing: true, seconds: 183, compileSeconds: 0.2, loss: 10.95692, liveBytes: 2 ** 30 * 0.375, estimatedBytes: 2 ** 30 * 0.4 }], greedyEqualsF32: true, greedyPath: 'f32',
          kernels: [{ label: 'matmul.blocked', ms: 600, dispatches: 90 }, { label: 'attention.backward.dkdv', ms: 300, dispatches: 30 }, { label: 'rope.forward', ms: 100, dispatches: 60 }] },
        { weights: 'q4', modelBytes: 2 ** 30 * 0.125, estimatedModelBytes: 2 ** 30 * 0.125, loadSeconds: 9, hostPeakBytes: 2 ** 30, steps: [], },
      ],
    },
    { model: 'Big', parameters: 3_212_749_824, modes: [mode('bf16', false, '1x512', 8.67, 7)], live: [] },
  ],
};

const rows = (md: string, first: string) => md.split('\n').filter((l) => l.startsWith(`| ${first} |`)).map((l) => l.slice(2, -2).split(' | '));

/** The same run on lavapipe, with the f16 path. */
const LAVAPIPE: ScaleRun = {
  ...RUN, adapter: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) (software; its GPU memory is host memory)',
  results: [{ ...RUN.results[0], live: [{ ...RUN.results[0].live[0], greedyPath: 'f16', kernels: undefined }] }],
};

describe('scale tables', () => {
  const md = scaleTables([RUN]);
  const tables = md.split('\n\n');

  it('writes one estimate table per batch, a column per storage × checkpointing, PyTorch + PEFT last', () => {
    expect(tables[0].split('\n')[0]).toBe('| 1×512 | params | bf16 | bf16 + ckpt | 4-bit | 4-bit + ckpt | PyTorch+PEFT bf16 + ckpt | PyTorch+PEFT QLoRA + ckpt |');
    expect(rows(tables[0], 'Small')[0]).toEqual(['Small', '135M', '0.84', '0.40', '0.66', '0.22', '0.52', '0.38']);
    expect(rows(tables[0], 'Big')[0]).toEqual(['Big', '3213M', '8.67', '–', '–', '–', '–', '–']);
    expect(tables[1].startsWith('| 4×512 |')).toBe(true);
    expect(rows(tables[1], 'Small')[0]).toEqual(['Small', '135M', '–', '0.62', '–', '–', '1.30', '–']);
  });

  it('lists each built model × storage with bytes, load, host peak, the two steps (time, loss, GPU bytes) and the greedy check', () => {
    const built = rows(md, 'Small');
    expect(built).toHaveLength(5);   // two estimate rows, two built rows, its timed step's kernels
    expect(built[2]).toEqual(['Small', 'SwiftShader', 'bf16', '0.250 / 0.500', '3.5', '1.50', '99.1 / 183.0', '10.9569 / 10.9569', '0.500 / 0.625; 0.375 / 0.400', 'yes (f32 kernels; f16 path n/a)']);
    expect(built[3]).toEqual(['Small', 'SwiftShader', '4-bit', '0.125 / 0.125', '9.0', '1.00', '– / –', '– / –', '–; –', '–']);
    expect(rows(md, 'Big')).toHaveLength(2);   // its two estimate rows: not built
    const mismatch = scaleTables([{ ...RUN, results: [{ ...RUN.results[0], live: [{ ...RUN.results[0].live[0], greedyEqualsF32: false, greedyPath: 'f16' }] }] }]);
    expect(rows(mismatch, 'Small')[2][9]).toBe('**no** (f16 kernels)');
  });

  it('puts each run\'s built cases under its adapter, and ranks a timed step\'s kernels by their share', () => {
    const both = scaleTables([RUN, LAVAPIPE]);
    const built = rows(both, 'Small').filter((r) => r[2] === 'bf16');
    expect(built.map((r) => [r[1], r.length === 10 ? r[9] : r[3]])).toEqual([['SwiftShader', 'yes (f32 kernels; f16 path n/a)'], ['lavapipe', 'yes (f16 kernels)'], ['SwiftShader', '1000']]);
    expect(built[2]).toEqual(['Small', 'SwiftShader', 'bf16', '1000', 'matmul.blocked 60% (600 ms)', 'attention.backward.dkdv 30% (300 ms)', 'rope.forward 10% (100 ms)', '–', '–']);
    expect(both).toContain('Built and stepped on this machine\'s adapters (SwiftShader driver 5.0.0 (software; its GPU memory is host memory); llvmpipe');
  });

  it('has no built table when nothing was built', () => {
    const none = scaleTables([{ ...RUN, results: [RUN.results[1]] }]);
    expect(none).not.toContain('Built and stepped');
    expect(none).not.toContain('| model |');
  });

  it('replaces only the text between the markers, and refuses a README without them', () => {
    const readme = `# Title\n\nbefore\n${SCALE_BEGIN}\nold table\n${SCALE_END}\nafter\n`;
    const out = replaceScaleSection(readme, 'NEW');
    expect(out).toBe(`# Title\n\nbefore\n${SCALE_BEGIN}\nNEW\n${SCALE_END}\nafter\n`);
    expect(replaceScaleSection(out, 'NEWER')).toBe(`# Title\n\nbefore\n${SCALE_BEGIN}\nNEWER\n${SCALE_END}\nafter\n`);
    expect(() => replaceScaleSection('# no markers', 'x')).toThrow(/markers/);
  });
});
