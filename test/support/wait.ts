import assert from 'node:assert/strict';

/**
 * Resolves once `ok()` holds, checked every few milliseconds on the event loop (for state another process or
 * a LISTEN/NOTIFY round trip changes, which has no event to await here); fails naming `what` after `ms`.
 * Returns how long it took.
 */
export async function until(ok: () => boolean, what: string, ms = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}
