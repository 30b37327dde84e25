/**
 * One scheduler across replicas: each replica runs the same cron schedule over one store; per tick exactly
 * one runs each job, a replica firing late for a slot already run skips it, and a running job's lock is a
 * lease renewed while it runs (a dead holder frees it within leaseMs). On PostgreSQL (a throwaway cluster)
 * and on SQLite (two connections to one file) alike.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { createScheduler } from '../../training/scheduler.ts';
import { pgMissingReason, pgOrSkip, startPostgres, type PgCluster } from '../support/postgres.ts';

const quiet = { info() {}, warn() {}, error() {} };
let cluster: PgCluster | null = null;
before(async () => {
  if (pgMissingReason() === null) cluster = await startPostgres();
});
after(() => cluster?.destroy());

async function replicasRunOnce(a: Store, b: Store): Promise<void> {
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-sched-rep-'));
  const sa = createScheduler({ store: a, modelsDir, log: quiet, config: { retrainMode: 'inline' } });
  const sb = createScheduler({ store: b, modelsDir, log: quiet, config: { retrainMode: 'inline' } });
  const slot = new Date('2026-12-06T03:00:00.000Z');
  const first = await sa.runJob('ingest', slot);
  assert.equal(first.status, 'ok');
  // b's timer fired 20 s later for the same minute: the slot was run.
  const late = await sb.runJob('ingest', new Date(slot.getTime() + 20_000));
  assert.equal(late.status, 'skipped');
  assert.match(late.reason!, /already run for the 2026-12-06T03:00:00.000Z slot/);
  const next = await sb.runJob('ingest', new Date(slot.getTime() + 15 * 60_000));
  assert.equal(next.status, 'ok', 'the next slot runs, on whichever replica gets there');
  // The lock is a lease: taken with at most leaseMs (90 s), not the job's whole TTL (30 min for ingest).
  assert.equal(a.tryLock('job:ingest', 'probe', 1), true, 'released after the run');
  a.unlock('job:ingest', 'probe');
  const [x, y] = await Promise.all([sa.runJob('evaluate', slot), sb.runJob('evaluate', slot)]);
  assert.deepEqual([x.status, y.status].sort(), ['ok', 'skipped'], 'two replicas firing together: one runs');
}

test('postgres: per tick one replica runs a job, and a late replica skips the slot', { timeout: 60_000 }, async (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const url = cluster.createDatabase();
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  try {
    await replicasRunOnce(a, b);
  } finally {
    a.close();
    b.close();
  }
});

test('sqlite: per tick one process runs a job, and a late process skips the slot', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'rg-sched-rep-')), 'x.db');
  const a = openStore(file);
  const b = openStore(file);
  try {
    await replicasRunOnce(a, b);
  } finally {
    a.close();
    b.close();
  }
});
