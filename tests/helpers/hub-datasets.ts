// A generated Hub dataset for the Hub stand-in (hub-standin.ts), shared by the Data step's Hub import tests in Node
// and in the built app: `standin-org/world-qa` in the layout `push_to_hub` writes, with no card list, so the
// `datasets` library's conventions give one config "default" with two splits:
//   data/train-00000-of-00002.parquet, data/train-00001-of-00002.parquet   prompt/completion rows
//   data/test-00000-of-00001.jsonl                                         messages rows, one line cut off mid-JSON
import { parquetWriteBuffer } from 'hyparquet-writer';

export const WORLD_QA = 'standin-org/world-qa';
export const TRAIN_SHARDS = ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet'];
export const TEST_FILE = 'data/test-00000-of-00001.jsonl';

const people = ['Calder', 'Juno', 'Mira', 'Tobin', 'Lark', 'Dara'];
const towns = ['Tarn', 'Rookwood', 'Dunmore', 'Pellin', 'Marrow', 'Kelso'];

/** `n` prompt/completion rows about the people of `seed` as Parquet, in row groups (a shard read in several pieces). */
export function promptCompletionParquet(n: number, seed: number, rowGroupSize = 16): Uint8Array {
  const rows = Array.from({ length: n }, (_, i) => ({ p: people[(i + seed) % 6], t: towns[(i * 5 + seed) % 6] }));
  return new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'prompt', data: rows.map((r, i) => `Where does ${r.p} live? (${seed}.${i})`) },
      { name: 'completion', data: rows.map((r) => `${r.p} lives in ${r.t}.`) },
    ],
    rowGroupSize,
  }));
}

const chat = (q: string, a: string) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

/** The repository's files; `train` and `test` count the rows each split imports (the cut line is refused, line 3). */
export function worldQa(): { files: Map<string, Uint8Array>; train: number; test: number } {
  const test = [chat('Where does Juno live?', 'Juno lives in Rookwood.'), chat('What is Calder\'s job?', 'Calder is a sailor.'),
    '{"messages": [{"role": "user", "content": "What pet does Mira', chat('Where does Dara live?', 'Dara lives in Kelso.')].join('\n') + '\n';
  const enc = new TextEncoder();
  return {
    files: new Map([
      ['README.md', enc.encode('# world-qa (generated for the Hub stand-in)\n')],
      ['.gitattributes', enc.encode('*.parquet filter=lfs diff=lfs merge=lfs -text\n')],
      [TRAIN_SHARDS[0], promptCompletionParquet(60, 1)],
      [TRAIN_SHARDS[1], promptCompletionParquet(40, 2)],
      [TEST_FILE, enc.encode(test)],
    ]),
    train: 100, test: 3,
  };
}
