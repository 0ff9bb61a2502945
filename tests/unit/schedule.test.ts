// LR schedules vs the lambdas of transformers' optimization.py, transcribed here independently of
// src/train/schedule.ts (get_constant/linear/cosine_schedule_with_warmup, cosine with min_lr_rate), over every
// step of several runs. Tolerance: float64 formulas written two ways, |diff| <= 1e-12 * lr.
import { describe, expect, it } from 'vitest';
import { learningRate, type LrSchedule, type ScheduleConfig } from '../../src/train/schedule';

// transformers (v4.x) lr lambdas, num_cycles = 0.5
function hfConstant(step: number, warmup: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return 1;
}
function hfLinear(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}
function hfCosine(step: number, warmup: number, total: number, minLrRate = 0): number {
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, total - warmup);
  let factor = 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress));
  factor = factor * (1 - minLrRate) + minLrRate;
  return Math.max(0, factor);
}

const RUNS: [warmup: number, total: number][] = [[0, 1], [0, 10], [3, 10], [10, 100], [7, 8], [1, 2]];

describe('learningRate', () => {
  for (const schedule of ['constant', 'linear', 'cosine'] as LrSchedule[]) {
    for (const [warmupSteps, totalSteps] of RUNS) {
      it(`${schedule} matches transformers at every step (warmup ${warmupSteps}, total ${totalSteps})`, () => {
        const lr = 3e-4;
        const cfg: ScheduleConfig = { schedule, lr, warmupSteps, totalSteps };
        for (let step = 0; step < totalSteps; step++) {
          const hf = schedule === 'constant' ? hfConstant(step, warmupSteps)
            : schedule === 'linear' ? hfLinear(step, warmupSteps, totalSteps) : hfCosine(step, warmupSteps, totalSteps);
          expect(Math.abs(learningRate(cfg, step) - lr * hf), `step ${step}`).toBeLessThanOrEqual(1e-12 * lr);
        }
      });
    }
  }

  it('cosine with minLrRatio matches get_cosine_with_min_lr_schedule_with_warmup', () => {
    const cfg: ScheduleConfig = { schedule: 'cosine', lr: 1e-3, warmupSteps: 5, totalSteps: 50, minLrRatio: 0.1 };
    for (let step = 0; step < 50; step++) {
      expect(Math.abs(learningRate(cfg, step) - 1e-3 * hfCosine(step, 5, 50, 0.1))).toBeLessThanOrEqual(1e-15);
    }
  });

  it('hits the landmarks: half-way warm-up, cosine mid-point, linear end; holds its value past totalSteps', () => {
    expect(learningRate({ schedule: 'linear', lr: 2, warmupSteps: 10, totalSteps: 110 }, 5)).toBeCloseTo(1, 12);
    expect(learningRate({ schedule: 'cosine', lr: 2, warmupSteps: 10, totalSteps: 110 }, 60)).toBeCloseTo(1, 12);
    expect(learningRate({ schedule: 'linear', lr: 2, warmupSteps: 10, totalSteps: 110 }, 110)).toBe(0);
    expect(learningRate({ schedule: 'constant', lr: 2, warmupSteps: 0, totalSteps: 5 }, 0)).toBe(2);
    const cos = { schedule: 'cosine', lr: 1, warmupSteps: 0, totalSteps: 10, minLrRatio: 0.2 } as const;
    expect(learningRate(cos, 10)).toBeCloseTo(0.2, 12);
    expect(learningRate(cos, 15)).toBeCloseTo(0.2, 12); // transformers' lambda would climb back towards 1
  });
});
