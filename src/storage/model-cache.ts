// The downloaded-model cache (a ByteCache, src/io/download.ts) with the origin's quota minded: a file whose size the
// server gave is refused before its bytes are fetched when the browser's estimate leaves no room for it (`expect`),
// and a put the quota refuses is a StorageError naming the space the file needed and the space left (quota.ts).
// A refused file keeps what was there: the entries this download had put for it (its parts, its size) are deleted,
// so the cache holds what it held before, models cached earlier and parts of an earlier, stopped download included.
// Two tabs may download the same model at once: entries are keyed by URL and hold the same bytes, so the cache is
// not guarded by the writer role (writer.ts).
import { cacheStorageCache, memoryCache, type ByteCache } from '../io/download';
import { ensureRoom, isQuotaExceeded, quotaRefusal } from './quota';

const fileOf = (url: string): string => decodeURIComponent(new URL(url).pathname.split('/').pop() ?? url);

export function roomCheckedCache(cache: ByteCache): ByteCache {
  /** Per file URL being downloaded: what it will need in all, and the keys put for it so far. */
  const files = new Map<string, { bytes: number; put: string[] }>();
  const urlOf = (key: string): string => key.replace(/#.*$/, '');
  const doing = (url: string) => `downloading ${fileOf(url)}`;
  return {
    get: (key) => cache.get(key),
    delete: (key) => cache.delete(key),
    async expect(url, bytes) {
      files.set(url, { bytes, put: [] });
      await ensureRoom(bytes, doing(url));
    },
    async put(key, bytes) {
      const url = urlOf(key);
      const file = files.get(url);
      try {
        await cache.put(key, bytes);
        file?.put.push(key);
        if (file && key === url) files.delete(url);   // the whole file is stored: its download is done
      } catch (e) {
        if (!isQuotaExceeded(e)) throw e;
        files.delete(url);
        for (const k of file?.put ?? []) await cache.delete(k);
        throw await quotaRefusal(doing(url), file?.bytes ?? bytes.byteLength, e);
      }
    },
  };
}

/** The browser's download cache (Cache Storage, quota minded) for models and Hub datasets; in memory where there is none. */
export function browserModelCache(): Promise<ByteCache> {
  return cacheStorageCache().then(roomCheckedCache).catch(() => memoryCache());
}
