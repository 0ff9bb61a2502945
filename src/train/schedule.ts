// Learning-rate schedules: linear warm-up, then constant, linear decay or cosine decay. Pure functions, no GPU.
//
// Contract: learningRate(cfg, step) is the rate of 0-based optimizer step `step`, equal to lr times the
// multiplier of transformers' get_constant_schedule_with_warmup / get_linear_schedule_with_warmup /
// get_cosine_schedule_with_warmup (num_cycles 0.5) at that step. As there (LambdaLR stepped after each optimizer
// step), step 0 of a warm-up runs at 0, and the linear schedule reaches 0 at totalSteps.
// minLrRatio (default 0) floors the decay: multiplier = ratio + (1 - ratio) * decay, which for cosine is
// transformers' get_cosine_with_min_lr_schedule_with_warmup(min_lr_rate); the same floor applies to linear.
// Deliberate difference: past totalSteps the rate holds its final value (transformers' cosine would rise again).
// Not here: applying the rate (the trainer passes it to adamwUpdate each step).

export type LrSchedule = 'constant' | 'linear' | 'cosine';

export interface ScheduleConfig {
  schedule: LrSchedule;
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  warmupSteps: number;
  /** Optimizer steps in the whole run; decay ends here. */
  totalSteps: number;
  /** Floor of the decay as a fraction of lr, 0..1 (default 0). Ignored by 'constant'. */
  minLrRatio?: number;
}

export function learningRate(cfg: ScheduleConfig, step: number): number {
  return cfg.lr * lrMultiplier(cfg, step);
}

function lrMultiplier(cfg: ScheduleConfig, step: number): number {
  const warmup = Math.max(0, cfg.warmupSteps);
  if (step < warmup) return step / Math.max(1, warmup);
  if (cfg.schedule === 'constant') return 1;
  const progress = Math.min(1, Math.max(0, (step - warmup) / Math.max(1, cfg.totalSteps - warmup)));
  const decay = cfg.schedule === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  const floor = cfg.minLrRatio ?? 0;
  return Math.max(0, floor + (1 - floor) * decay);
}
