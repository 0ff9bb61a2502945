// Room in the origin's browser storage, and one way to say a write did not fit: every write the studio makes there
// (dataset versions and journal, runs, checkpoints, imported adapters, cached model files) is refused with a
// StorageError of kind 'quota' whose message names the space the write needed and the space left.
//
// Two facts of the browsers shape it (measured in Chromium 156; see the storage-quota e2e test):
//  - navigator.storage.estimate() may hide the limit. Chromium reports `quota = usage + 10 GiB` whatever it enforces
//    (kStaticStorageQuota, a privacy measure); Firefox and Safari report their real limits. So `ensureRoom` refuses
//    up front only where the browser admits there is no room, and the write itself is the real test: its
//    QuotaExceededError is caught and said the same way (`quotaRefusal`), "less than needed" standing for the space
//    left where the estimate does not know better.
//  - A refusal comes as a DOMException named QuotaExceededError: IndexedDB aborts the transaction with it (idb rejects
//    `tx.done`, and requests still pending with AbortError), Cache Storage rejects `put` with it.
// Sizes are estimates: `storedBytes` counts strings and buffers, as a structured clone stores them, roughly.
// Not here: which write needs how much (the repositories, the run store and the model cache say).
import { StorageError } from './repository';

export interface Room {
  usage: number;
  quota: number;
  /** quota − usage: what the browser says this origin may still write. */
  left: number;
}

/**
 * Saves below this size skip the up-front check (their size is then given as a function): a save at page hide must
 * be issued at once, not after a round trip to the browser.
 */
export const CHECK_ABOVE_BYTES = 2 ** 20;

/** The browser's estimate of this origin's storage, or null where it has none. */
export async function room(): Promise<Room | null> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (!storage?.estimate) return null;
  try {
    const { usage = 0, quota } = await storage.estimate();
    return quota === undefined ? null : { usage, quota, left: Math.max(0, quota - usage) };
  } catch {
    return null;
  }
}

/** Bytes as a person reads storage sizes (decimal units, as browsers and file managers show them). */
export function storageBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return i === 0 ? `${Math.round(v)} bytes` : `${v.toLocaleString('en', { maximumFractionDigits: v < 10 ? 1 : 0 })} ${units[i]}`;
}

const FREE_SPACE = 'Free space (delete datasets, versions, runs or downloaded models you no longer need) and try again.';

function refusal(doing: string, needed: number, r: Room | null, cause?: unknown): StorageError {
  const need = `${doing} needs about ${storageBytes(needed)}`;
  // The estimate says more is free than the write needed: it is Chromium's fixed figure, not the limit.
  const left = r && r.left < needed
    ? `only ${storageBytes(r.left)} is left (${storageBytes(r.usage)} used of ${storageBytes(r.quota)})`
    : `less than that is left (the browser refused the write${r ? `; the ${storageBytes(r.left)} it reports free is not its real limit` : ''})`;
  return new StorageError('quota', `Not enough browser storage: ${need}, and ${left}. ${FREE_SPACE}`, cause);
}

/** Throws the quota StorageError when the browser's own estimate says `bytes` will not fit. */
export async function ensureRoom(bytes: number, doing: string): Promise<void> {
  const r = await room();
  if (r && r.left < bytes) throw refusal(doing, bytes, r);
}

/** True for each form a write refused for space takes (see the header). */
export function isQuotaExceeded(e: unknown): boolean {
  if (e instanceof StorageError) return e.kind === 'quota';
  const name = (e as { name?: unknown } | null)?.name;
  const message = (e as { message?: unknown } | null)?.message;
  return name === 'QuotaExceededError' || (typeof message === 'string' && /quota/i.test(message));
}

/** The quota StorageError for a write of `bytes` that the browser refused, with what the estimate says is left. */
export async function quotaRefusal(doing: string, bytes: number, cause: unknown): Promise<StorageError> {
  return refusal(doing, bytes, await room(), cause);
}

/**
 * Runs a write of about `bytes` (`doing` says what it is: "saving the dataset"): refused up front when the estimate
 * says it cannot fit (a size given as a function is counted only if the write is refused), and its
 * QuotaExceededError told as a quota StorageError. Other errors pass.
 */
export async function writeWithRoom<T>(doing: string, bytes: number | (() => number), write: () => Promise<T>): Promise<T> {
  if (typeof bytes === 'number') await ensureRoom(bytes, doing);
  try {
    return await write();
  } catch (e) {
    const told = e instanceof StorageError && e.kind === 'quota';
    throw isQuotaExceeded(e) && !told ? await quotaRefusal(doing, typeof bytes === 'number' ? bytes : bytes(), e) : e;
  }
}

/** About how many bytes a structured clone of `value` takes on disk: strings (1 byte a character, 2 beyond Latin-1), buffers, 8 a number. */
export function storedBytes(value: unknown): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') n += /[^\u0000-\u00ff]/.test(v) ? 2 * v.length : v.length;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') n += 8;
    else if (ArrayBuffer.isView(v)) n += v.byteLength;
    else if (v instanceof ArrayBuffer) n += v.byteLength;
    else if (Array.isArray(v)) { n += 8; for (const x of v) stack.push(x); }
    else if (v && typeof v === 'object') { for (const [k, x] of Object.entries(v)) { n += k.length; stack.push(x); } }
  }
  return n;
}
