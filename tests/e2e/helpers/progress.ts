// A progress bar watched as a user would see it: sampled every 50 ms until it has shown a value part-way (above 0 and
// below 100), which a bar that jumps from nothing to done never does. For the e2e tests of downloads.
import { expect } from 'vitest';
import type { Locator } from 'playwright-core';

/** Resolves once `bar` (a progressbar) has shown an aria-valuenow strictly between 0 and 100; fails after 30 s. */
export async function seenPartWay(bar: Locator): Promise<void> {
  const seen = new Set<number>();
  await expect.poll(async () => {
    const v = await bar.getAttribute('aria-valuenow', { timeout: 200 }).catch(() => null);
    if (v !== null) seen.add(Number(v));
    return [...seen].some((x) => x > 0 && x < 100);
  }, { timeout: 30_000, interval: 50 }).toBe(true);
}
