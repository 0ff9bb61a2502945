// The data worker reads the loaded model's tokenizer from the engine worker over a channel of their own, which
// the page makes and hands out (app/store/engine-worker.ts joinWorkers): the real engine behind serveEngine, the
// real page client, and the real data host and client, every message structured-cloned (ports transferred) as
// postMessage does. The token counts must be those of the model loaded at that moment: after a switch to a model
// with another tokenizer they follow it, checked against counts computed here from each model's own files.
import { describe, expect, it } from 'vitest';
import { joinWorkers } from '../../app/store/engine-worker';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadTokenizerFiles, tokenStats, type TokenizerFiles } from '../../src/data/tokens';
import { dataWorker } from '../helpers/data-worker';
import { droppedFiles, enginePair } from '../helpers/engine';

const text = (files: Map<string, Uint8Array>, name: string) => new TextDecoder().decode(files.get(name)!);
const tokenizerOf = (name: string, files: Map<string, Uint8Array>): TokenizerFiles =>
  ({ name, tokenizerJson: text(files, 'tokenizer.json'), tokenizerConfig: text(files, 'tokenizer_config.json') });

const records = [
  { id: 'a', messages: [{ role: 'user' as const, content: 'What is the capital of France?' }, { role: 'assistant' as const, content: 'Paris, on the Seine.' }] },
  { id: 'b', messages: [{ role: 'user' as const, content: 'Say hello.' }, { role: 'assistant' as const, content: 'Hello there, nice to meet you.' }] },
];
const opts = { maxSeqLen: 256, assistantOnly: true };

describe('the data worker asks the engine worker for the model\'s tokenizer', () => {
  it('counts with the model loaded at that moment, and follows a switch to another model', async () => {
    const { worker: engineWorker, engine } = enginePair();
    const { worker, data } = dataWorker();

    await expect(data.loadModelTokenizer()).rejects.toThrow('the engine worker is not connected');
    joinWorkers(engineWorker, worker);
    await expect(data.loadModelTokenizer()).rejects.toThrow('Load a model first.');

    const llama = buildTinyModel('llama-small', 1), gpt2 = buildTinyModel('gpt2', 1);
    const expected = async (name: string, files: Map<string, Uint8Array>) => {
      const lt = await loadTokenizerFiles(tokenizerOf(name, files));
      return { info: lt.info, stats: tokenStats(lt, records, opts) };
    };
    const [llamaRef, gpt2Ref] = [await expected('tiny-llama', llama), await expected('tiny-gpt2', gpt2)];
    expect(gpt2Ref.stats.lengths).not.toEqual(llamaRef.stats.lengths); // the two tokenizers are told apart

    for (const [name, files, ref] of [['tiny-llama', llama, llamaRef], ['tiny-gpt2', gpt2, gpt2Ref]] as const) {
      await engine.loadModel(droppedFiles(name, files));
      expect(await data.loadModelTokenizer()).toEqual({ name, info: ref.info });
      expect(await data.tokenStats(records, opts)).toEqual(ref.stats);
    }
  });
});
