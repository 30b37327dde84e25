/**
 * Replica coherence over PostgreSQL: two stores on one database play two replicas, each with its own
 * LiveHistory. Outcomes written through either replica must show in the next risk check on both, exactly
 * (equal to the uncached path on a third, fresh connection), once the other replica's LISTEN connection has
 * been notified; and a write made while a replica's LISTEN connection was down is caught up from the change
 * log when it reconnects. Skips with the reason without PostgreSQL binaries (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { Calendar } from '../../src/features/calendar.ts';
import { FEATURES } from '../../src/features/definition.ts';
import { LiveHistory, liveFeatures } from '../../src/features/live.ts';
import type { RunRecord } from '../../src/records/schema.ts';
import { listenerConnected, openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { pgOrSkip, sharedPostgres } from '../support/postgres.ts';
import { until } from '../support/wait.ts';
import { finishedRuns, pendingRun, randomHistory, rng } from '../support/runs.ts';

const opts = { calendar: new Calendar('Europe/Berlin') };
const MIN = 60_000;

const db = sharedPostgres();

function assertSame(live: Float64Array, exact: Float64Array, what: string): void {
  for (let j = 0; j < FEATURES.length; j++)
    assert.ok(Object.is(live[j], exact[j]), `${what}: ${FEATURES[j]} cached ${live[j]} vs exact ${exact[j]}`);
}

const pending = pendingRun;
const finished = finishedRuns(MIN);

function replicas(url: string, history: RunRecord[], retryMs = 1000) {
  const a = openPostgresStore(url, { retryMs });
  const b = openPostgresStore(url, { retryMs });
  const fresh = openPostgresStore(url);
  a.upsertRuns(history);
  let now = Math.max(...history.map((r) => Date.parse(r.completed_at ?? r.created_at))) + 60 * MIN;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const live = new Map<Store, LiveHistory>([
    [a, new LiveHistory(a, opts, 5000, clock.now)],
    [b, new LiveHistory(b, opts, 5000, clock.now)],
  ]);
  return { a, b, fresh, live, clock, close: () => [a, b, fresh].forEach((s) => s.close()) };
}

test(
  'outcomes written through either replica change the next risk check on both, exactly, once notified',
  { timeout: 180_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const w = replicas(db.cluster.createDatabase(), randomHistory(11, 1500, ['acme/web', 'acme/api']));
    try {
      const rnd = rng(5);
      const repos = ['acme/web', 'acme/api'];
      const lags: number[] = [];
      const check = (r: RunRecord, what: string) => {
        const exact = liveFeatures(r, w.fresh, opts);
        for (const [s, live] of w.live)
          assertSame(live.features(r), exact, `${what} on replica ${s === w.a ? 'a' : 'b'}`);
      };
      // Let both caches hold both repos first, so what follows is folding and invalidation, not first loads.
      for (const repo of repos) check(pending(repo, w.clock.now()), 'warm-up');
      let checks = 0;
      for (let step = 0; step < 150; step++) {
        w.clock.advance(Math.floor(rnd() * 3 * MIN));
        const repo = repos[Math.floor(rnd() * repos.length)];
        const writer = rnd() < 0.5 ? w.a : w.b;
        const reader = writer === w.a ? w.b : w.a;
        const u = rnd();
        if (u < 0.4) {
          check(
            pending(repo, w.clock.now(), { actor: rnd() < 0.2 ? null : `dev${Math.floor(rnd() * 6)}` }),
            `step ${step}`,
          );
          checks++;
          continue;
        }
        const v = reader.dataVersion();
        if (u < 0.75) writer.upsertRuns([finished(repo, w.clock.now(), rnd() < 0.7 ? 'success' : 'failure')]);
        else if (u < 0.9) writer.upsertRuns([finished(repo, w.clock.now() - 3 * 24 * 60 * MIN, 'failure')]);
        else
          writer.upsertRuns([
            finished(repo, w.clock.now(), 'success', { completed_at: new Date(w.clock.now() + 5 * MIN).toISOString() }),
          ]);
        lags.push(await until(() => reader.dataVersion() !== v, 'the other replica to be notified'));
        check(pending(repo, w.clock.now()), `step ${step} after a write`);
        checks++;
      }
      assert.ok(checks > 100);
      const stats = [...w.live.values()].map((l) => l.stats);
      assert.ok(
        stats.every((s) => s.incremental > 10),
        `folded in, not rebuilt each time: ${JSON.stringify(stats)}`,
      );
      lags.sort((x, y) => x - y);
      t.diagnostic(
        `notification lag over ${lags.length} writes: p50 ${lags[lags.length >> 1]} ms, max ${lags[lags.length - 1]} ms (the issue's bound: 1 s)`,
      );
    } finally {
      for (const l of w.live.values()) l.close();
      w.close();
    }
  },
);

test(
  'a write made while a replica’s LISTEN connection is down is caught up from the change log when it reconnects',
  { timeout: 60_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const url = db.cluster.createDatabase();
    // A 3 s pause before reconnecting, so the test sees the listener down even on a busy machine.
    const w = replicas(url, randomHistory(12, 300, ['acme/web']), 3000);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const liveB = w.live.get(w.b)!;
      const before = liveB.features(pending('acme/web', w.clock.now()));
      await until(() => listenerConnected(w.b) === true, 'b to listen');
      // Cut every LISTEN connection (a network blip as the server sees it): b hears nothing until it reconnects.
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'riskgate-listen'`,
      );
      await until(() => listenerConnected(w.b) === false, 'b to notice its listener is gone');
      const v = w.b.dataVersion();
      w.a.upsertRuns(
        Array.from({ length: 5 }, (_, i) =>
          finished('acme/web', w.clock.now() - 5 * MIN + i * 1000, 'failure', { actor: 'dev1' }),
        ),
      );
      const r = pending('acme/web', w.clock.now());
      await until(() => listenerConnected(w.b) === true && w.b.dataVersion() !== v, 'b to reconnect and catch up');
      const exact = liveFeatures(r, w.fresh, opts);
      assert.notDeepEqual([...before], [...exact], 'the writes change the features');
      assertSame(liveB.features(r), exact, 'b after catching up');
    } finally {
      await admin.end();
      for (const l of w.live.values()) l.close();
      w.close();
    }
  },
);

test(
  'two replicas taking turns: the other’s earlier run is folded before this one’s own even before its notification arrives, so neither rebuilds',
  { timeout: 60_000 },
  async (t) => {
    if (!pgOrSkip(t) || !db.cluster) return;
    const w = replicas(db.cluster.createDatabase(), randomHistory(13, 1500, ['acme/web']));
    try {
      const liveB = w.live.get(w.b)!;
      const r0 = pending('acme/web', w.clock.now());
      assertSame(liveB.features(r0), liveFeatures(r0, w.fresh, opts), 'warm');
      const builds = liveB.stats.builds;
      for (let i = 0; i < 30; i++) {
        w.clock.advance(2 * MIN);
        // As replicas behind a Service do: a commits a run, then b at once commits one created later. b's
        // cache must take a's run first; waiting for a's notification is not allowed here.
        w.a.upsertRuns([finished('acme/web', w.clock.now() - 1000, i % 4 === 0 ? 'failure' : 'success')]);
        w.b.upsertRuns([finished('acme/web', w.clock.now(), 'success')]);
        const r = pending('acme/web', w.clock.now());
        assertSame(liveB.features(r), liveFeatures(r, w.fresh, opts), `turn ${i}`);
      }
      assert.equal(liveB.stats.builds, builds, `no rebuilds: ${JSON.stringify(liveB.stats)}`);
      assert.ok(liveB.stats.incremental >= 60);
    } finally {
      for (const l of w.live.values()) l.close();
      w.close();
    }
  },
);
