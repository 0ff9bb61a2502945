// `studio push DIR --repo OWNER/NAME [--endpoint URL] [--private] [--json]`
// An export folder (what `studio export` wrote: the files and their README model card) to a Hugging Face Hub model
// repository, created if it is not there (src/export/hub-push.ts). The token comes from HF_TOKEN, as the Python
// tools read it, never from the command line, where anyone on the machine could read it in the process list.
// The endpoint is --endpoint, else HF_ENDPOINT, else https://huggingface.co. Progress on stderr.
// --json prints { repo, url, commit, files: [{ name, bytes }] }.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pushToHub } from '../src/export/hub-push';
import type { ExportFiles } from '../src/export/merged';
import { HF_ENDPOINT } from '../src/io/download';
import { MANIFEST } from '../src/io/output';
import { str, UsageError, type Parsed } from './args';

/** Every file under `dir` but the studio's output manifest, by its path in the folder. */
function folderFiles(dir: string): ExportFiles {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a folder (push takes a folder studio export wrote)`);
  const files: ExportFiles = new Map();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).split(sep).join('/');
    if (entry.isFile() && name !== MANIFEST) files.set(name, new Uint8Array(readFileSync(path)));
  }
  return files;
}

export async function cmdPush(p: Parsed): Promise<{ json: unknown; text: string }> {
  const dir = p.positionals[1];
  if (!dir) throw new UsageError('usage: push DIR --repo OWNER/NAME [--endpoint URL] [--private] [--json]   (the token in HF_TOKEN)');
  const repo = str(p, 'repo');
  if (!process.env.HF_TOKEN?.trim()) throw new UsageError('no Hub token: set HF_TOKEN to an access token with write access (Hugging Face: Settings → Access Tokens)');
  const files = folderFiles(dir);
  let said = '';
  const r = await pushToHub({
    files, repo, token: process.env.HF_TOKEN, endpoint: p.options.get('endpoint')?.at(-1) ?? process.env.HF_ENDPOINT ?? HF_ENDPOINT,
    private: p.flags.has('private'),
    onProgress: (e) => {
      const line = e.phase === 'file' ? (e.progress === 1 && e.state === 'uploading' ? `  ${e.file} uploaded` : '') : `${e.phase}…`;
      if (line && line !== said) process.stderr.write(`${line}\n`);
      if (line) said = line;
    },
  });
  const list = [...files].map(([name, bytes]) => ({ name, bytes: bytes.length }));
  return {
    json: { repo, url: r.url, commit: r.commit, files: list },
    text: [`pushed ${list.length} files to ${r.url} (commit ${r.commit.slice(0, 12)}):`, ...list.map((f) => `  ${f.name} (${(f.bytes / 1024).toFixed(1)} KiB)`)].join('\n'),
  };
}
