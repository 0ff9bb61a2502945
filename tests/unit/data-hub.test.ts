// How a Hub dataset's files become configs and splits (src/data/hub.ts), against the `datasets` library's rules
// (datasets/data_files.py) on file lists shaped like real repositories': the card's `configs:` in each form it
// takes, push_to_hub's sharded layouts, split keywords in folder and file names, the fallback to "train"; the
// defaults and the one-line refusals of --config and --split; `hub:` names.
import { describe, expect, it } from 'vitest';
import { datasetLayout, globRegExp, parseHubDataset, pickSplit, type DatasetFile, type DatasetLayout } from '../../src/data/hub';

const files = (...paths: string[]): DatasetFile[] => paths.map((path, i) => ({ path, size: 100 + i }));
/** config → split → paths, for comparing layouts. */
const shape = (l: DatasetLayout) => Object.fromEntries(l.configs.map((c) => [c.name, Object.fromEntries(c.splits.map((s) => [s.name, s.files.map((f) => f.path)]))]));

describe('Hub dataset layout', () => {
  it('globs as fsspec: * within a segment, ** across, ? one character, [...] a class', () => {
    expect(globRegExp('data/train-*').test('data/train-00000-of-00001.parquet')).toBe(true);
    expect(globRegExp('data/train-*').test('data/sub/train-0.parquet')).toBe(false);
    expect(globRegExp('**/*.jsonl').test('a.jsonl')).toBe(true);
    expect(globRegExp('**/*.jsonl').test('x/y/a.jsonl')).toBe(true);
    expect(globRegExp('part-?.csv').test('part-1.csv')).toBe(true);
    expect(globRegExp('part-[0-9].csv').test('part-x.csv')).toBe(false);
    expect(globRegExp('a+b(1).json').test('a+b(1).json')).toBe(true);
  });

  it('the card\'s configs: split lists, one pattern or a list (split train), data_dir, and the default marked', () => {
    const repo = files('README.md', '.gitattributes', 'data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet', 'data/test-00000-of-00001.parquet',
      'alpaca/part-1.jsonl', 'alpaca/part-2.jsonl', 'raw/train.csv', 'raw/dev.csv', 'raw/notes.txt');
    const layout = datasetLayout(repo, [
      { config_name: 'chat', data_files: [{ split: 'train', path: 'data/train-*' }, { split: 'test', path: ['data/test-*'] }], default: true },
      { config_name: 'alpaca', data_files: 'alpaca/*.jsonl' },
      { config_name: 'raw', data_dir: 'raw' },
      { config_name: 'listed', data_files: ['alpaca/part-2.jsonl', 'raw/train.csv'] },
    ]);
    expect(shape(layout)).toEqual({
      chat: { train: ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet'], test: ['data/test-00000-of-00001.parquet'] },
      alpaca: { train: ['alpaca/part-1.jsonl', 'alpaca/part-2.jsonl'] },
      raw: { train: ['raw/train.csv'], validation: ['raw/dev.csv'] },
      listed: { train: ['alpaca/part-2.jsonl', 'raw/train.csv'] },
    });
    expect(layout.defaultConfig).toBe('chat');
    expect(datasetLayout(repo, [{ config_name: 'a', data_files: 'alpaca/*' }, { config_name: 'default', data_files: 'raw/*' }]).defaultConfig).toBe('default');
    expect(datasetLayout(repo, [{ config_name: 'a', data_files: 'alpaca/*' }, { config_name: 'b', data_files: 'raw/*' }]).defaultConfig).toBeNull();
  });

  it('without a card: push_to_hub\'s data/{split}-NNNNN-of-NNNNN shards (any split name), and {config}/{split}-… a config per folder', () => {
    expect(shape(datasetLayout(files('data/train_sft-00000-of-00002.parquet', 'data/train_sft-00001-of-00002.parquet', 'data/test_sft-00000-of-00001.parquet')))).toEqual({
      default: { test_sft: ['data/test_sft-00000-of-00001.parquet'], train_sft: ['data/train_sft-00000-of-00002.parquet', 'data/train_sft-00001-of-00002.parquet'] },
    });
    const multi = datasetLayout(files('en/train-00000-of-00001.parquet', 'en/validation-00000-of-00001.parquet', 'fr/train-00000-of-00001.parquet'));
    expect(shape(multi)).toEqual({ en: { train: ['en/train-00000-of-00001.parquet'], validation: ['en/validation-00000-of-00001.parquet'] }, fr: { train: ['fr/train-00000-of-00001.parquet'] } });
    expect(multi.defaultConfig).toBeNull();
  });

  it('without a card: split keywords in folder names before file names; otherwise every data file is train; hidden and other files never', () => {
    expect(shape(datasetLayout(files('train/a.jsonl', 'train/b.jsonl', 'dev/a.jsonl', 'eval/x.jsonl', 'test-notes.jsonl')))).toEqual({
      default: { train: ['train/a.jsonl', 'train/b.jsonl'], validation: ['dev/a.jsonl'], test: ['eval/x.jsonl'] },
    });
    expect(shape(datasetLayout(files('my_train.jsonl', 'my-valid.csv', 'testing_2.json', 'training.tsv', 'trainer.jsonl')))).toEqual({
      default: { train: ['my_train.jsonl', 'training.tsv'], validation: ['my-valid.csv'], test: ['testing_2.json'] },
    });
    expect(shape(datasetLayout(files('alpaca_data.json', 'more/rows.JSONL', '.hidden/x.jsonl', '__pycache__/y.json', 'script.py', 'data.jsonl.gz')))).toEqual({
      default: { train: ['alpaca_data.json', 'more/rows.JSONL'] },
    });
  });

  it('picks the default config and its train (or only) split; refuses what is not there in one line naming what is', () => {
    const layout = datasetLayout(files('data/train-00000-of-00001.parquet', 'data/test-00000-of-00001.parquet'));
    expect(pickSplit(layout, 'o/d')).toMatchObject({ config: 'default', split: { name: 'train' } });
    expect(pickSplit(layout, 'o/d', undefined, 'test').split.files.map((f) => f.path)).toEqual(['data/test-00000-of-00001.parquet']);
    expect(() => pickSplit(layout, 'o/d', undefined, 'dev')).toThrow(/^o\/d \(config default\) has no split "dev" \(its splits: test, train\)$/);
    expect(() => pickSplit(layout, 'o/d', 'en')).toThrow(/^o\/d has no config "en" \(its configs: default\)$/);
    const multi = datasetLayout(files('en/train-00000-of-00001.parquet', 'fr/train-00000-of-00001.parquet'));
    expect(() => pickSplit(multi, 'o/d')).toThrow(/^o\/d has 2 configs \(en, fr\); choose one with --config$/);
    expect(pickSplit(multi, 'o/d', 'fr').split.files[0].path).toBe('fr/train-00000-of-00001.parquet');
    const noTrain = datasetLayout(files('data/dev-00000-of-00001.parquet', 'data/test-00000-of-00001.parquet'));
    expect(() => pickSplit(noTrain, 'o/d')).toThrow(/has splits dev, test and none is "train"; choose one with --split$/);
    expect(() => pickSplit(datasetLayout(files('README.md', 'data.jsonl.gz')), 'o/d')).toThrow(/^o\/d has no data files we read/);
    const stale = datasetLayout(files('a.jsonl'), [{ config_name: 'x', data_files: 'gone/*' }]);
    expect(() => pickSplit(stale, 'o/d')).toThrow(/has no data files we read/);
  });

  it('reads hub:OWNER/NAME[@revision]', () => {
    expect(parseHubDataset('hub:yahma/alpaca-cleaned')).toEqual({ repo: 'yahma/alpaca-cleaned', revision: 'main' });
    expect(parseHubDataset('hub:HuggingFaceH4/ultrachat_200k@refs/convert/parquet')).toEqual({ repo: 'HuggingFaceH4/ultrachat_200k', revision: 'refs/convert/parquet' });
    expect(parseHubDataset('squad@v1')).toEqual({ repo: 'squad', revision: 'v1' });
    for (const bad of ['hub:', 'hub:a/b/c', 'hub:a/b@', 'hub:a b/c']) expect(() => parseHubDataset(bad), bad).toThrow(/is not a Hub dataset/);
  });
});
