/**
 * PostgreSQL stopped and started again under load, with a real server over the PostgreSQL store: risk checks
 * keep being answered from memory (degraded, saying why), outcome writes get 503 with Retry-After, the store
 * reconnects by itself, and every outcome that got a 2xx is in the database afterwards, once (counted and
 * compared on a fresh connection). A throwaway cluster; skips with the reason without PostgreSQL binaries
 * (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { call } from '../api/helpers.ts';
import { pgOrSkip, sharedPostgres } from '../support/postgres.ts';
import { serveTrained } from '../support/serve.ts';

const db = sharedPostgres();

const risk = (repo: string, i: number) => ({
  repo,
  head_branch: 'main',
  event: 'push',
  actor: `dev${i % 6}`,
  files: ['src/a.ts'],
  additions: 40,
  deletions: 3,
});
const outcome = (i: number) => ({
  repo: i % 2 ? 'acme/web' : 'acme/api',
  run_id: `fault-${i}`,
  workflow: 'ci',
  actor: `dev${i % 6}`,
  created_at: new Date(Date.now() - 120_000 + i).toISOString(),
  completed_at: new Date(Date.now() - 60_000).toISOString(),
  conclusion: i % 3 ? 'success' : 'failure',
});

test(
  'PostgreSQL restarted under load: risk answered from memory, writes 503 with Retry-After, reconnect, every 2xx write stored once',
  { timeout: 180_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const url = db.cluster.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'rg-pg-faults-'));
    const store = openPostgresStore(url, { retryMs: 200, connectTimeoutMs: 1000 });
    const { running, champion } = await serveTrained(store, dir);
    try {
      // Warm: both repos and all six authors are in memory.
      for (let i = 0; i < 12; i++) {
        const r = await call(running.url, 'POST', '/v1/risk', risk(i % 2 ? 'acme/web' : 'acme/api', i));
        assert.equal(r.status, 200);
        assert.equal(r.body.degraded, false);
      }
      let phase: 'up' | 'down' | 'back' = 'up';
      let n = 0;
      const ok = new Set<string>();
      const seen = {
        down: { risk: 0, riskOk: 0, degraded: 0, writes: 0, w503: 0, retryAfter: 0, reasons: new Set<string>() },
        other: { risk5xx: 0, w5xx: 0 },
      };
      let stop = false;
      let backOk = 0;
      const loop = async () => {
        while (!stop) {
          const i = n++;
          const p = phase;
          const w = await call(running.url, 'POST', '/v1/outcomes', outcome(i));
          if (w.status === 200) ok.add(`fault-${i}`);
          const r = await call(running.url, 'POST', '/v1/risk', risk(i % 2 ? 'acme/web' : 'acme/api', i));
          if (p === 'down' && phase === 'down') {
            seen.down.writes++;
            if (w.status === 503) seen.down.w503++;
            if (w.headers.get('retry-after')) seen.down.retryAfter++;
            seen.down.risk++;
            if (r.status === 200) seen.down.riskOk++;
            if (r.body.degraded) {
              seen.down.degraded++;
              seen.down.reasons.add(String(r.body.degraded_reason).replace(/since \d{4}-[0-9T:.-]+Z/, 'since …'));
            }
          } else {
            if (r.status >= 500) seen.other.risk5xx++;
            if (w.status >= 500) seen.other.w5xx++;
          }
          if (p === 'back' && w.status === 200 && r.status === 200 && !r.body.degraded) backOk++;
          await new Promise((res) => setImmediate(res));
        }
      };
      const loops = Array.from({ length: 4 }, loop);
      const wait = async (cond: () => boolean, what: string) => {
        const end = Date.now() + 60_000;
        while (!cond()) {
          if (Date.now() > end) assert.fail(`timed out: ${what}`);
          await new Promise((res) => setTimeout(res, 20));
        }
      };
      await wait(() => ok.size >= 40, 'writes while up');
      phase = 'down';
      db.cluster.stop();
      await wait(() => seen.down.writes >= 60, 'requests while down');
      phase = 'back';
      db.cluster.start();
      await wait(() => backOk >= 40, 'writes and undegraded risk answers after the restart');
      stop = true;
      await Promise.all(loops);

      t.diagnostic(
        `while down: ${seen.down.risk} risk checks (${seen.down.riskOk} answered, ${seen.down.degraded} degraded), ${seen.down.writes} writes (${seen.down.w503} × 503, ${seen.down.retryAfter} with Retry-After)`,
      );
      assert.equal(seen.down.riskOk, seen.down.risk, 'every risk check answered while the database was down');
      assert.equal(seen.down.degraded, seen.down.risk, 'and each one says it is degraded');
      assert.deepEqual(
        [...seen.down.reasons],
        ['store unavailable since …: features from the history held in memory, without outcomes recorded since'],
      );
      assert.equal(seen.down.w503, seen.down.writes, 'every write while down is a 503');
      assert.equal(seen.down.retryAfter, seen.down.writes);
      // Every 2xx write is there, once; a write that got a 503 may or may not have committed (outcomes are
      // idempotent, a client retries), so the stored count is at least the acknowledged count.
      const fresh = openPostgresStore(url, { migrate: false });
      try {
        const stored = new Set([...fresh.iterateRuns()].map((r) => r.run_id).filter((id) => id.startsWith('fault-')));
        const missing = [...ok].filter((id) => !stored.has(id));
        assert.deepEqual(missing, [], 'acknowledged writes missing after the restart');
        assert.equal(fresh.countRuns(), 600 + stored.size, 'the seeded history is intact and nothing is stored twice');
        t.diagnostic(`${ok.size} writes acknowledged, ${stored.size} stored; champion ${champion} answered throughout`);
      } finally {
        fresh.close();
      }
    } finally {
      db.cluster.start();
      await running.shutdown();
      store.close();
    }
  },
);
