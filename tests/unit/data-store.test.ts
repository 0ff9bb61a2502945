// The datasets slice end to end without a browser: the in-thread data tools and the in-memory repository
// stand in for the worker and IndexedDB (same interfaces). Import, mapping, edit/flag/delete with undo,
// duplicates, splits, versions, and save errors surfaced to the user.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLocalDataTools } from '../../src/data/tools';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { createDatasetsStore, datasetsSelectors as sel } from '../../app/store/datasets';

const file = (name: string) => new File([readFileSync(`tests/fixtures/data/${name}`)], name);

function setup(repo = createMemoryRepository()) {
  const store = createDatasetsStore({ repo, tools: createLocalDataTools(), autosaveMs: 5 });
  return { store, repo, s: () => store.getState() };
}

describe('datasets slice', () => {
  it('imports several files, edits, flags, deletes with undo/redo, and saves versions', async () => {
    const { s, repo } = setup();
    await s().importFiles([file('alpaca.jsonl'), file('sharegpt.json')]);
    expect(s().records).toHaveLength(6);
    expect(sel.errorIssues(s()).map((i) => `${i.file}:${i.line}`)).toEqual(['alpaca.jsonl:4', 'alpaca.jsonl:5', 'sharegpt.json:4']);
    expect(sel.sourceFiles(s())).toEqual(['alpaca.jsonl', 'sharegpt.json']);

    const first = s().records[0];
    s().editRecord(first.id, [{ role: 'user', content: 'New prompt' }, { role: 'assistant', content: 'New answer' }]);
    s().setFlag([s().records[1].id], true);
    s().deleteRecords([s().records[2].id]);
    expect(s().records).toHaveLength(5);
    s().undo();
    expect(s().records).toHaveLength(6);
    s().redo();
    expect(s().records).toHaveLength(5);
    expect(s().records[0].messages[0].content).toBe('New prompt');
    expect(s().records[1].flagged).toBe(true);

    await s().flush();
    const saved = await repo.load(s().current!.id);
    expect(saved?.snapshot.records).toHaveLength(5);
    expect(saved?.snapshot.records[0].edited).toBe(true);
    expect(s().versions.length).toBeGreaterThanOrEqual(1);
    expect(s().save).toMatchObject({ kind: 'saved' });
  });

  it('fixes and drops import issues', async () => {
    const { s } = setup();
    await s().importFiles([file('alpaca.jsonl')]);
    const [cut, missing] = sel.errorIssues(s());
    s().fixIssue(cut.id, '{"instruction":"x"}');
    expect(sel.errorIssues(s())[0].reason).toBe("missing field 'output'"); // still bad: reason updated
    s().fixIssue(cut.id, '{"instruction":"fixed","output":"now fine and long"}');
    expect(s().records.map((r) => r.source.line)).toContain(4);
    s().dropIssues([missing.id]);
    expect(sel.errorIssues(s())).toEqual([]);
  });

  it('asks for a column map, remembers it, and uses it next time', async () => {
    const { s, repo } = setup();
    await s().importFiles([file('custom.csv')]);
    expect(s().pendingMappings).toHaveLength(1);
    expect(s().records).toEqual([]);
    await s().applyMapping({ prompt: 'question', response: 'answer' }, true);
    expect(s().records.map((r) => r.messages[1].content)).toEqual(['100 degrees Celsius at sea level.', 'William Shakespeare wrote Hamlet.']);
    await s().importFiles([file('custom.csv')]);
    expect(s().pendingMappings).toEqual([]);
    expect(s().records).toHaveLength(4);
    expect(Object.values(await repo.columnMaps())).toEqual([{ prompt: 'question', response: 'answer' }]);
  });

  it('finds duplicates and keeps one per group', async () => {
    const { s } = setup();
    await s().importFiles([file('messages.jsonl')]);
    await s().findDuplicates({ near: true, threshold: 0.8 });
    // Lines 1 and 5 differ only in whitespace: exact duplicates after normalising it.
    const groups = s().duplicates!;
    const lines = (ids: string[]) => ids.map((id) => sel.recordById(s()).get(id)!.source.line);
    expect(groups.map((g) => [g.kind, lines(g.ids)])).toEqual([['exact', [1, 5]]]);
    s().keepOne(0, groups[0].ids[0]);
    expect(s().records.map((r) => r.source.line)).toEqual([1, 2]);
    expect(s().duplicates).toEqual([]);
  });

  it('splits and counts', async () => {
    const { s } = setup();
    await s().importFiles([file('prompt_completion.csv')]);
    s().applySplit({ kind: 'column', column: 'split' });
    expect(sel.splitCounts(s())).toEqual({ train: 2, validation: 1 });
    s().setQuery({ split: 'validation' });
    expect(sel.visibleRecords(s()).map((r) => r.source.line)).toEqual([3]);
  });

  it('restores an old version as a new one', async () => {
    const { s } = setup();
    await s().importFiles([file('alpaca.jsonl')]);
    await s().flush();
    const v1 = s().versions[0].version;
    s().deleteRecords(s().records.map((r) => r.id));
    await s().flush();
    expect(s().records).toEqual([]);
    await s().restoreVersion(v1);
    expect(s().records).toHaveLength(3);
    expect(s().versions[0].message).toBe(`restore version ${v1}`);
  });

  it('a failing save is reported, not swallowed', async () => {
    const quota = () => Object.assign(new Error('Browser storage is full while saving the dataset.'), { name: 'StorageError' });
    const { s } = setup(createMemoryRepository({ failSavesWith: quota }));
    await s().importFiles([file('text.tsv')]);
    await s().flush();
    expect(s().save).toMatchObject({ kind: 'error' });
    expect(s().error).toMatch(/storage is full/);
    expect(s().records).toHaveLength(2); // the data in memory is untouched
  });
});
