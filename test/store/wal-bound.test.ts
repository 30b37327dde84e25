/**
 * Issue 16.4: with the background checkpointer running only PASSIVE checkpoints, 16 concurrent canary
 * writers grew the WAL to 868 MB in 30 s against an 83 MB database, and it never shrank. Writers that never
 * pause always add frames before a PASSIVE checkpoint has copied the last ones, so the WAL never starts over.
 * Here one writer commits canary-decision-sized events (48 KB of samples each) back to back against the real
 * store and its real checkpointer thread; the WAL file's size is read from disk after every batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';

const MiB = 1024 * 1024;

test(
  'the WAL stays bounded under back-to-back writes and is emptied when writers pause',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-wal-'));
    const file = join(dir, 'riskgate.db');
    const pressure: boolean[] = [];
    // Each idle TRUNCATE checkpoint resolves the next waiter: the first shows the checkpointer thread is up
    // (it takes a while to start on a busy machine), the last that the WAL was emptied once writes stopped.
    let onIdleTruncate: ((after: number) => void) | null = null;
    const idleTruncate = () => new Promise<number>((r) => (onIdleTruncate = r));
    const limit = 2 * MiB;
    const store = openStore(file, {
      backgroundCheckpoint: true,
      checkpoint: {
        walLimitBytes: limit,
        intervalMs: 10,
        idleMs: 300,
        onPressure: (p) => void pressure.push(p.over),
        onTruncate: (t) => onIdleTruncate?.(t.after),
      },
    });
    // The checkpointer's thread is unref'd (it never holds a server open); this keeps the test's loop alive.
    const keepAlive = setInterval(() => undefined, 60_000);
    const wal = () => {
      try {
        return statSync(`${file}-wal`).size;
      } catch {
        return 0;
      }
    };
    try {
      const samples = Buffer.alloc(48_000, 1);
      store.appendEvent('canary_decision', 'warm-up', {}, samples);
      assert.equal(await idleTruncate(), 0, 'the checkpointer is running');
      let max = 0;
      const written = 1000 * samples.length; // ~46 MiB
      for (let i = 1; i < 1000; i++) {
        store.appendEvent('canary_decision', `svc@v${i}`, { i }, samples);
        if (i % 20 === 19) {
          max = Math.max(max, wal());
          await new Promise((r) => setImmediate(r)); // the checkpointer's messages arrive on this thread
        }
      }
      // Bounded: far below what was written (PASSIVE alone left the WAL at about all of it).
      assert.ok(
        max < written / 2,
        `WAL reached ${(max / MiB).toFixed(1)} MiB of ${(written / MiB).toFixed(1)} MiB written`,
      );
      assert.equal(pressure[0], true, 'passing the limit turned in-commit checkpoints on');
      // Writers paused: the WAL is emptied (not left at the high-water mark of the burst).
      assert.equal(await idleTruncate(), 0);
      assert.equal(wal(), 0);
      assert.equal(store.listEvents('canary_decision', { limit: 2000 }).length, 1000, 'every write is still there');
    } finally {
      clearInterval(keepAlive);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('RISKGATE_WAL_LIMIT_MB is read and validated by name', async () => {
  const { loadConfig } = await import('../../src/config.ts');
  assert.equal(loadConfig({}).walLimitBytes, 64 * MiB);
  assert.equal(loadConfig({ RISKGATE_WAL_LIMIT_MB: '8' }).walLimitBytes, 8 * MiB);
  assert.throws(() => loadConfig({ RISKGATE_WAL_LIMIT_MB: '0' }), /RISKGATE_WAL_LIMIT_MB/);
});
