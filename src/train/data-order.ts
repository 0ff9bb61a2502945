// A trainer's data order, shared by the SFT Trainer, the PreferenceTrainer and the GrpoTrainer (prompts): examples in a seeded order, reshuffled
// every epoch (in file order without shuffle), taken a micro-batch at a time across epoch boundaries; and where a run
// stands in it (step, epoch, cursor, the order, the RNG), which checkpoints keep so a resumed run takes the same
// examples bit for bit.
import { Rng } from '../model/random';

/** Everything needed to resume exactly (besides the flat params and AdamW moments). */
export interface TrainerState {
  step: number;
  epoch: number;
  cursor: number;      // index into `order` of the next example
  order: number[];
  rngState: number;
}

/** Optimizer steps of a run: maxSteps, or every epoch's micro-batches × gradient accumulation. */
export function totalSteps(train: { maxSteps: number; epochs: number; batchSize: number; gradAccumSteps: number }, examples: number): number {
  if (train.maxSteps > 0) return train.maxSteps;
  return Math.ceil(examples / Math.max(1, train.batchSize * train.gradAccumSteps)) * train.epochs;
}

export class DataOrder {
  state: TrainerState;
  private readonly rng: Rng;

  constructor(private readonly size: number, private readonly cfg: { seed: number; shuffle: boolean }) {
    this.rng = new Rng(cfg.seed);
    this.state = { step: 0, epoch: 0, cursor: 0, order: this.newOrder(), rngState: this.rng.state };
  }

  private newOrder(): number[] {
    return this.cfg.shuffle ? this.rng.permutation(this.size) : Array.from({ length: this.size }, (_, i) => i);
  }

  /** The next `n` example indices, wrapping into a new (reshuffled) epoch. */
  next(n: number): number[] {
    const picked: number[] = [];
    while (picked.length < n) {
      if (this.state.cursor >= this.state.order.length) {
        this.state.epoch++;
        this.state.cursor = 0;
        this.state.order = this.newOrder();
      }
      picked.push(this.state.order[this.state.cursor++]);
    }
    return picked;
  }

  /** An optimizer step is done. */
  stepped(): void {
    this.state.step++;
    this.state.rngState = this.rng.state;
  }

  /** Where the order stands now, to put back with restore (a dry run of a step must leave no trace). */
  save(): TrainerState {
    return { ...this.state, order: [...this.state.order] };
  }

  restore(state: TrainerState): void {
    this.state = { ...state, order: [...state.order] };
    this.rng.state = state.rngState;
  }
}
