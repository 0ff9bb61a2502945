// Push an export (the PEFT adapter, the merged model or the GGUF files, with the README model card) to a Hugging
// Face Hub model repository the user names, with a token the user gives, through the maintained client
// (@huggingface/hub): createRepo (an existing repository is kept), then one commit of every file (small ones in
// the commit itself, large ones by LFS, in parts when the Hub asks). The files land at the repository's root,
// byte for byte the export's.
//
// The token: checked to be there and to look like one before anything is sent; sent only to `endpoint` (the
// client puts it on the Hub's API calls, not on the storage URLs the Hub hands out for LFS uploads); never in an
// error or a progress event: every message that leaves here has it cut out. Where it is kept is the host's
// concern. LFS over the classic transfer (what git-lfs speaks) rather than the client's default xet, whose
// chunking is a WASM module the tests could not exercise: the Hub accepts both.
// Not here: making the export's files (formats/), zipping (zip.ts), the page's form (wave 2).
import { createRepo, HubApiError, uploadFilesWithProgress } from '@huggingface/hub';
import { errorMessage, oneLine } from '../errors';
import { HF_ENDPOINT } from '../io/download';
import type { ExportFiles } from './merged';

export interface PushArgs {
  files: ExportFiles;
  /** The repository to create or update: OWNER/NAME. */
  repo: string;
  token: string | undefined;
  /** The Hub or a mirror (default https://huggingface.co). */
  endpoint?: string;
  /** A new repository is private (an existing one keeps its visibility). */
  private?: boolean;
  commitTitle?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: PushProgress) => void;
}

export type PushProgress =
  | { phase: 'creating' | 'preuploading' | 'uploadingLargeFiles' | 'committing' }
  | { phase: 'file'; file: string; state: 'hashing' | 'uploading'; progress: number };

export interface PushResult {
  /** The repository's page. */
  url: string;
  commit: string;
}

/** One line for a failure, naming the repository and what the Hub said, with the token cut out. */
function pushFailure(repo: string, token: string, e: unknown): Error {
  const status = e instanceof HubApiError ? e.statusCode : undefined;
  const said = errorMessage(e).split(token).join('[token]');
  const line = status === 401
    ? `the Hub refused the token (401): check that it is a valid access token for this endpoint`
    : status === 403
      ? `the token may not write to ${repo} (403): use a token with write access to that namespace (${said.replace(/\. URL: .*$/, '')})`
      : `pushing to ${repo} failed${status ? ` (HTTP ${status})` : ''}: ${said}`;
  return new Error(oneLine(line));
}

export async function pushToHub(args: PushArgs): Promise<PushResult> {
  const token = args.token?.trim() ?? '';
  if (!token) throw new Error('no Hub token: paste an access token with write access (Hugging Face: Settings → Access Tokens)');
  if (!/^hf_\w+$/.test(token)) throw new Error('that is not a Hub access token (they start with "hf_" and have no spaces)');
  if (!/^[\w.-]+\/[\w.-]+$/.test(args.repo)) throw new Error(`"${oneLine(args.repo, 100)}" is not a repository name (expected OWNER/NAME)`);
  if (args.files.size === 0) throw new Error('nothing to push: the export has no files');
  const hubUrl = (args.endpoint ?? HF_ENDPOINT).replace(/\/$/, '');
  const repo = { type: 'model' as const, name: args.repo };
  const common = { accessToken: token, hubUrl, fetch: args.fetch };
  try {
    args.onProgress?.({ phase: 'creating' });
    try {
      await createRepo({ ...common, repo, private: args.private });
    } catch (e) {
      if (!(e instanceof HubApiError && e.statusCode === 409)) throw e; // it exists: push into it
    }
    const upload = uploadFilesWithProgress({
      ...common, repo, useXet: false, abortSignal: args.signal,
      commitTitle: args.commitTitle ?? `Upload ${args.files.size} files from WebGPU SFT Studio`,
      files: [...args.files].map(([path, bytes]) => ({ path, content: new Blob([bytes.slice()]) })),
    });
    for (;;) {
      const step = await upload.next();
      if (step.done) {
        const oid = step.value?.commit.oid;
        if (!oid) throw new Error('the Hub answered the commit without a commit id');
        return { url: `${hubUrl}/${args.repo}`, commit: oid };
      }
      const ev = step.value;
      if (ev.event === 'phase') args.onProgress?.({ phase: ev.phase });
      else if (ev.state !== 'error') args.onProgress?.({ phase: 'file', file: ev.path, state: ev.state, progress: ev.progress });
    }
  } catch (e) {
    throw pushFailure(args.repo, token, e);
  }
}
