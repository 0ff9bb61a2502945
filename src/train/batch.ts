// Tokenized examples → padded batches the model trains on.
//   example: inputIds [L], lossMask [L] with lossMask[i] = 1 when token i is a training target.
//   batch:   ids [B, T], targets[b, t] = ids[b, t+1], lossMask[b, t] = example mask of token t+1 (0 past the end).
// Right padding needs no attention mask: causal attention never lets a real token see a later pad, and pad
// positions carry no loss.

export interface Example {
  inputIds: number[];
  lossMask: number[];
  /** Packed sequences: per token, the index where its document starts (attention and positions restart there). */
  docStart?: number[];
}

/**
 * Examples by index: an array, or examples made on first use (ExamplesOnDemand, src/tokenize/loss-mask.ts: a run
 * tokenizes what its steps take). `at(i)` is defined for 0 ≤ i < length.
 */
export type Examples = Pick<readonly Example[], 'length' | 'at'>;

export interface Batch {
  B: number;
  T: number;
  ids: Uint32Array;
  targets: Uint32Array;
  lossMask: Float32Array;
  /** Number of positions whose loss counts (sum of lossMask). */
  tokens: number;
  /** [B, T] document starts when any example is packed (nondecreasing along t, each ≤ t). */
  docStart?: Uint32Array;
}

export function makeBatch(examples: Example[], maxSeqLength: number, padId = 0): Batch {
  const B = examples.length;
  const T = Math.max(1, Math.min(maxSeqLength, Math.max(...examples.map((e) => e.inputIds.length)) - 1));
  const ids = new Uint32Array(B * T).fill(padId);
  const targets = new Uint32Array(B * T).fill(padId);
  const lossMask = new Float32Array(B * T);
  let tokens = 0;
  const packed = examples.some((e) => e.docStart);
  const docStart = packed ? new Uint32Array(B * T) : undefined;
  examples.forEach((e, b) => {
    if (docStart) {
      let last = 0;
      for (let t = 0; t < T; t++) docStart[b * T + t] = last = t < e.inputIds.length ? (e.docStart?.[t] ?? 0) : last; // pads keep the last document
    }
    const L = Math.min(e.inputIds.length, T + 1);
    for (let t = 0; t < L; t++) {
      if (t < T) ids[b * T + t] = e.inputIds[t];
      if (t > 0) {
        targets[b * T + t - 1] = e.inputIds[t];
        const m = e.lossMask[t] ? 1 : 0;
        lossMask[b * T + t - 1] = m;
        tokens += m;
      }
    }
  });
  return { B, T, ids, targets, lossMask, tokens, ...(docStart ? { docStart } : {}) };
}
