// First run: a studio with no datasets opens on the built-in sample dataset and the built-in model, so a new
// user can walk curate → train → compare → export at once. Runs once per browser profile (remembered in
// localStorage); a dataset the user deletes afterwards is not brought back.
// `?first-run=off` in the URL skips it: the end-to-end tests of other features start from an empty studio.
import type { DatasetsStore } from '../../store/datasets';
import type { EngineStore } from '../../store/engine';

const DONE_KEY = 'sft-studio.first-run-done';
const SAMPLE_URL = 'samples/world-qa.messages.jsonl';
/** Questions about people the SFT set never mentions: the validation split, where tuning must generalise. */
const HELD_OUT_URL = 'samples/world-qa.eval.jsonl';
const DEFAULT_MODEL_URL = 'models/default/';

function firstRunWanted(): boolean {
  return new URLSearchParams(location.search).get('first-run') !== 'off' && localStorage.getItem(DONE_KEY) !== '1';
}

/** After the datasets store's init: import the sample when nothing is stored yet, and load the model. */
export async function seedFirstRun(studio: DatasetsStore, engine: EngineStore): Promise<void> {
  if (!firstRunWanted()) return;
  localStorage.setItem(DONE_KEY, '1');
  if (studio.getState().datasets.length === 0) {
    const [sft, heldOut] = await Promise.all([SAMPLE_URL, HELD_OUT_URL].map((u) => fetch(new URL(u, document.baseURI))));
    if (sft.ok && heldOut.ok) {
      // The held-out rows carry split: validation, so a split by that column puts exactly them in validation.
      const tagged = (await heldOut.text()).split('\n').filter((l) => l.trim()).map((l) => JSON.stringify({ ...JSON.parse(l), split: 'validation' })).join('\n');
      await studio.getState().importFiles([
        new File([await sft.blob()], 'world-qa.messages.jsonl', { type: 'application/jsonl' }),
        new File([tagged + '\n'], 'world-qa.eval.jsonl', { type: 'application/jsonl' }),
      ]);
      studio.getState().applySplit({ kind: 'column', column: 'split' });
      await studio.getState().flush(); // saved now, not after the autosave delay: a quick reload keeps it
    }
  }
  if (!engine.getState().model) {
    await engine.getState().loadModel({ kind: 'url', name: 'built-in model', baseUrl: new URL(DEFAULT_MODEL_URL, document.baseURI).href });
  }
}
