/**
 * What only the PostgreSQL store has: migrations shared by replicas that start together, and a database
 * that goes away and comes back. A throwaway cluster (test/support/postgres.ts); skips with the reason
 * without PostgreSQL binaries (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PG_MIGRATIONS } from '../../src/store/postgres-schema.ts';
import { listenerConnected, openPostgresStore, rawQuery, redactUrl } from '../../src/store/postgres.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';
import { pgOrSkip, sharedPostgres } from '../support/postgres.ts';
import { until } from '../support/wait.ts';
import { randomHistory } from '../support/runs.ts';

const db = sharedPostgres();

test(
  'replicas starting together on an empty database run each migration once, under the advisory lock',
  { timeout: 120_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const url = db.cluster.createDatabase();
    const child = fileURLToPath(new URL('./children/pg-open.ts', import.meta.url));
    const outs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, url], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (c) => (out += c));
        p.stderr.on('data', (c) => (err += c));
        return new Promise<string>((resolve, reject) =>
          p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))),
        );
      }),
    );
    // One version row, at the newest migration, whatever order the four got the lock in (a second run of
    // migration 1 would have failed on CREATE TABLE runs, and its child with it).
    for (const o of outs) assert.deepEqual(JSON.parse(o), [{ version: PG_MIGRATIONS.length }]);
    const s = openPostgresStore(url);
    try {
      assert.equal(
        rawQuery(s, "SELECT count(*)::int AS n FROM state WHERE key LIKE 'opened-by-%'")[0].n,
        4,
        'every replica could write',
      );
    } finally {
      s.close();
    }
  },
);

test(
  'database down: calls fail fast with StoreUnavailableError, writes are reported, and the store reconnects by itself',
  { timeout: 120_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const url = db.cluster.createDatabase();
    const s = openPostgresStore(url, { retryMs: 300 });
    const other = openPostgresStore(url);
    try {
      s.upsertRuns(randomHistory(1, 20, ['a/b']));
      await until(() => listenerConnected(s) === true, 'the listener');
      db.cluster.stop();
      const t0 = Date.now();
      assert.throws(() => s.countRuns(), StoreUnavailableError);
      assert.throws(() => s.upsertRuns(randomHistory(2, 1, ['a/c'])), StoreUnavailableError);
      assert.throws(() => s.setState('k', 'v'), StoreUnavailableError);
      // Within the retry pause a call does not even try to connect.
      for (let i = 0; i < 100; i++) assert.throws(() => s.getState('k'), StoreUnavailableError);
      t.diagnostic(`103 calls against a stopped server took ${Date.now() - t0} ms`);
      assert.equal(s.writeStatus?.().ok, false);
      assert.equal(s.ping(), false);
      await until(() => listenerConnected(s) === false, 'the listener to notice');
      db.cluster.start();
      // The session reconnects on the next call after the pause, the listener on its own.
      await until(() => s.ping(), 'the session to reconnect');
      await until(() => listenerConnected(s) === true, 'the listener to reconnect');
      const v = s.dataVersion();
      s.setState('k', 'v');
      assert.deepEqual(s.writeStatus?.(), { ok: true });
      assert.equal(s.countRuns(), 20, 'nothing written while down, nothing lost from before');
      other.upsertRuns(randomHistory(3, 2, ['a/d']));
      await until(() => s.dataVersion() !== v, 'a notification after the restart');
    } finally {
      db.cluster.start();
      s.close();
      other.close();
    }
  },
);

test(
  'a transaction whose connection dies is rolled back and reported, never finished in autocommit on a new one',
  { timeout: 60_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const url = db.cluster.createDatabase();
    const s = openPostgresStore(url, { retryMs: 50 });
    const killer = openPostgresStore(url, { migrate: false });
    try {
      const mine = rawQuery(s, 'SELECT pg_backend_pid() AS pid')[0].pid;
      const err = (() => {
        try {
          s.transaction(() => {
            s.setState('b', '1');
            // A read sends the deferred BEGIN and write (postgres.ts, `queued`): the session is inside the transaction.
            assert.equal(s.getState('b'), '1');
            // What a failover or an idle-connection reaper does to a session between two statements.
            assert.deepEqual(rawQuery(killer, 'SELECT pg_terminate_backend($1) AS ok', [mine]), [{ ok: true }]);
            s.setState('c', '1');
          });
          return null;
        } catch (e) {
          return e;
        }
      })();
      assert.ok(err instanceof StoreUnavailableError, `unavailable, got ${String(err)}`);
      await until(() => s.ping(), 'a new session');
      assert.equal(s.getState('b'), undefined, 'the first write of the dead transaction is not there');
      assert.equal(s.getState('c'), undefined, 'the second was not run in autocommit on a new connection');
      s.transaction(() => s.setState('d', '1'));
      assert.equal(killer.getState('d'), '1', 'the next transaction works');
    } finally {
      s.close();
      killer.close();
    }
  },
);

test('a URL is never printed with its password', () => {
  assert.equal(redactUrl('postgres://u:s3cret@h:5432/db'), 'postgres://u:***@h:5432/db');
  assert.ok(!redactUrl('postgres://u:s3cret@h/db?x=1').includes('s3cret'));
});
