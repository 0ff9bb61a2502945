// The model the last session loaded, remembered in localStorage so that after a reload the studio can offer
// it again in one click (the weights of a URL or hub model are in the browser's cache; a model picked from
// disk must be picked again, which the offer says). Only the source's address is stored, never file contents.
// Beside it, the model picker's "Weights on the GPU" choice: one for every model, since what fits follows the
// GPU's memory more than the model (a small GPU wants 4-bit whatever is loaded).
import { WEIGHT_STORAGES, type WeightStorage } from '../../../src/ops/weight-storage';
import type { ModelSource } from '../../../src/engine/api';

const KEY = 'sft-studio.last-model';
const WEIGHTS_KEY = 'sft-studio.weights-on-gpu';

type LastModel =
  | { kind: 'url'; name: string; baseUrl: string }
  | { kind: 'hub'; repo: string; revision: string; endpoint: string }
  | { kind: 'files'; name: string };

export function rememberModel(source: ModelSource): void {
  if (source.kind === 'folder') return;   // the command line's; a page never loads one
  const last: LastModel = source.kind === 'files' ? { kind: 'files', name: source.name } : source;
  globalThis.localStorage?.setItem(KEY, JSON.stringify(last));
}

export function lastModel(): LastModel | null {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? 'null') as LastModel | null;
    return v && (v.kind === 'url' || v.kind === 'hub' || v.kind === 'files') ? v : null;
  } catch {
    return null;
  }
}

export const lastModelName = (m: LastModel) => (m.kind === 'hub' ? m.repo : m.name);

/** The picker's weights choice, '' for as shipped. */
export function rememberWeights(weights: WeightStorage | ''): void {
  globalThis.localStorage?.setItem(WEIGHTS_KEY, weights);
}

/** The weights choice last made, '' (as shipped) when none was or what is stored is not a storage. */
export function lastWeights(): WeightStorage | '' {
  const v = globalThis.localStorage?.getItem(WEIGHTS_KEY);
  return WEIGHT_STORAGES.find((w) => w === v) ?? '';
}
