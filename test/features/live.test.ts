import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveHistory, liveFeatures } from '../../src/features/live.ts';
import { FEATURES, FEATURE_INDEX } from '../../src/features/definition.ts';
import { Calendar } from '../../src/features/calendar.ts';
import { RunRecordSchema, type RunRecord } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { finishedRuns, pendingRun, randomHistory, rng } from '../support/runs.ts';

const opts = { calendar: new Calendar('Europe/Berlin') };
const MIN = 60_000;

function assertSame(live: Float64Array, exact: Float64Array, what: string): void {
  for (let j = 0; j < FEATURES.length; j++) {
    assert.ok(Object.is(live[j], exact[j]), `${what}: ${FEATURES[j]} cached ${live[j]} vs exact ${exact[j]}`);
  }
}

/** A clock-controlled world: history up to `t0`, a LiveHistory on one connection, a second connection on the same file. */
function world(runsPerRepo: number, repos: string[]) {
  const file = join(mkdtempSync(join(tmpdir(), 'rg-live-')), 'x.db');
  const store = openStore(file);
  const other = openStore(file);
  const history = randomHistory(11, runsPerRepo, repos);
  store.upsertRuns(history);
  let now = Math.max(...history.map((r) => Date.parse(r.completed_at ?? r.created_at))) + 60 * MIN;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const live = new LiveHistory(store, opts, 5000, clock.now);
  return { store, other, live, clock };
}

const pending = pendingRun;
const finished = finishedRuns(MIN);

function check(live: LiveHistory, store: Store, r: RunRecord, what: string): Float64Array {
  const got = live.features(r);
  assertSame(got, liveFeatures(r, store, opts), what);
  return got;
}

const WINDOW_END = Date.parse('2025-03-03T12:00:00Z');
/** A store with one repo's full window of 1,300 runs, `spacingMs` apart, ending at WINDOW_END. */
function fullWindow(
  repo: string,
  spacingMs: number,
  outcome: (i: number, createdMs: number) => { completed: number; conclusion: string },
) {
  const store = openStore(join(mkdtempSync(join(tmpdir(), 'rg-live-window-')), 'x.db'));
  store.upsertRuns(
    Array.from({ length: 1300 }, (_, i) => {
      const created = WINDOW_END - (1300 - i) * spacingMs;
      const o = outcome(i, created);
      return RunRecordSchema.parse({
        repo,
        run_id: `w${i}`,
        workflow: 'ci',
        created_at: new Date(created).toISOString(),
        completed_at: new Date(o.completed).toISOString(),
        conclusion: o.conclusion,
        additions: 3,
        deletions: 1,
      });
    }),
  );
  return store;
}

test('LiveHistory equals the uncached path after every kind of write, in process or from another connection, and folds the common ones in without a rebuild', () => {
  // 1,500 runs per repo: the loaded window (1,300) is full, so folding a new run in pushes the oldest out.
  const { store, other, live, clock } = world(1500, ['acme/web', 'acme/api']);
  const rnd = rng(5);
  const repos = ['acme/web', 'acme/api'];
  let checks = 0;
  for (let step = 0; step < 400; step++) {
    clock.advance(Math.floor(rnd() * 3 * MIN));
    const repo = repos[Math.floor(rnd() * repos.length)];
    const writer = rnd() < 0.5 ? store : other;
    const u = rnd();
    if (u < 0.45) {
      const actor = rnd() < 0.2 ? null : `dev${Math.floor(rnd() * 6)}`;
      check(
        live,
        store,
        pending(repo, clock.now(), {
          actor,
          head_branch: rnd() < 0.5 ? 'main' : 'feature-1',
          head_sha: rnd() < 0.3 ? null : 'abc',
        }),
        `step ${step}`,
      );
      checks++;
    } else if (u < 0.75) {
      // the common case: a finished run, newest created and newest known
      writer.upsertRuns([finished(repo, clock.now(), rnd() < 0.7 ? 'success' : 'failure')]);
    } else if (u < 0.85) {
      // seen running, then completed (an update of a loaded run)
      const r = finished(repo, clock.now(), null);
      writer.upsertRuns([r]);
      check(live, store, pending(repo, clock.now()), `step ${step} (running)`);
      clock.advance(2 * MIN);
      // sometimes the completed version names another author (the first one must stop counting it)
      const actor = rnd() < 0.3 ? `dev${Math.floor(rnd() * 6)}` : r.actor;
      (rnd() < 0.5 ? store : other).upsertRuns([
        { ...r, actor, conclusion: 'failure', completed_at: new Date(clock.now() - 30_000).toISOString() },
      ]);
    } else if (u < 0.92) {
      // out of order: created long ago, reported only now
      writer.upsertRuns([finished(repo, clock.now() - 3 * 24 * 60 * MIN, 'failure')]);
    } else if (u < 0.96) {
      // an outcome known only in the future
      writer.upsertRuns([
        finished(repo, clock.now(), 'success', { completed_at: new Date(clock.now() + 5 * MIN).toISOString() }),
      ]);
    } else {
      // a write that rolls back must leave no trace
      assert.throws(() =>
        store.transaction(() => {
          store.upsertRuns([finished(repo, clock.now(), 'failure')]);
          throw new Error('rolled back');
        }),
      );
    }
  }
  assert.ok(checks > 150);
  assert.ok(live.stats.incremental > 100, `folded in: ${JSON.stringify(live.stats)}`);
  assert.ok(
    live.stats.builds < checks / 2,
    `rebuilt less than half the time: ${JSON.stringify(live.stats)} over ${checks} checks`,
  );
  store.close();
  other.close();
});

test('an author’s new outcomes are folded into the rows kept in memory: exact features, no reload from the store', () => {
  const { store, other, live, clock } = world(1500, ['acme/web']);
  const rnd = rng(8);
  const actors = ['dev0', 'dev1', 'dev2'];
  for (const actor of actors) check(live, store, pending('acme/web', clock.now(), { actor }), `first look at ${actor}`);
  const loads = live.stats.authorLoads;
  assert.equal(loads, 3, 'each author read once');
  let checks = 0;
  for (let step = 0; step < 900; step++) {
    clock.advance(1 + Math.floor(rnd() * MIN));
    // The common case, a newest finished run, its author checked right after. dev0 writes 600 of them on top of
    // its ~250 in the history, so its rows pass the 800 kept and the oldest go, as they do from the store's query.
    const actor = step % 3 === 2 ? actors[1 + (step % 2)] : 'dev0';
    (rnd() < 0.5 ? store : other).upsertRuns([
      finished('acme/web', clock.now(), rnd() < 0.3 ? 'failure' : 'success', { actor }),
    ]);
    const got = check(live, store, pending('acme/web', clock.now(), { actor }), `step ${step}`);
    assert.ok(Number.isFinite(got[FEATURE_INDEX.author_fail_rate]));
    checks++;
  }
  assert.equal(live.stats.builds, 1, `no rebuild: ${JSON.stringify(live.stats)}`);
  assert.equal(
    live.stats.authorLoads,
    loads,
    `no author reloaded from the store over ${checks} checks: ${JSON.stringify(live.stats)}`,
  );
  store.close();
  other.close();
});

test('the author rows stay within their budget, letting go of the oldest, and the features stay exact', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'rg-live-budget-')), 'x.db');
  const store = openStore(file);
  const repos = ['acme/a', 'acme/b', 'acme/c'];
  const history = randomHistory(13, 400, repos);
  store.upsertRuns(history);
  let now = Math.max(...history.map((r) => Date.parse(r.completed_at ?? r.created_at))) + 60 * MIN;
  const budget = 300; // slots: about four authors' rows of this history
  const live = new LiveHistory(store, opts, 5000, () => now, budget);
  const rnd = rng(21);
  for (let step = 0; step < 120; step++) {
    now += Math.floor(rnd() * MIN);
    const repo = repos[step % 3];
    const actor = `dev${Math.floor(rnd() * 6)}`;
    if (step % 4 === 3) store.upsertRuns([finished(repo, now, rnd() < 0.3 ? 'failure' : 'success', { actor })]);
    check(live, store, pending(repo, now, { actor }), `step ${step}`);
    assert.ok(
      live.authorRowSlots() <= budget,
      `step ${step}: ${live.authorRowSlots()} slots for a budget of ${budget}`,
    );
  }
  assert.ok(live.stats.authorLoads > 18, `authors let go were read again: ${JSON.stringify(live.stats)}`);
  store.close();
});

test('a write by another connection for repo A keeps repo B cached, and A’s next features show the new outcome', () => {
  const { store, other, live, clock } = world(300, ['acme/a', 'acme/b', 'acme/c']);
  const now = clock.now();
  const last = FEATURE_INDEX.last_outcome;
  const streak = FEATURE_INDEX.consecutive_failures;
  check(live, store, pending('acme/a', now), 'a');
  check(live, store, pending('acme/b', now), 'b');
  assert.equal(live.stats.builds, 2);

  clock.advance(MIN);
  other.upsertRuns([finished('acme/a', clock.now(), 'success'), finished('acme/a', clock.now() + 1000, 'failure')]);
  other.setState('unrelated', 'x'); // commits that write no runs invalidate nothing
  const b = check(live, store, pending('acme/b', clock.now() + 1000), 'b after A was written');
  assert.equal(live.stats.builds, 2, 'B was not rebuilt');
  const a = check(live, store, pending('acme/a', clock.now() + 1000), 'a after A was written');
  assert.equal(a[last], 1, 'A sees the failure another process recorded');
  assert.ok(a[streak] >= 1);
  assert.equal(live.stats.builds, 2, 'A was folded in, not rebuilt');
  assert.ok(b.length > 0);

  // A run created before the cached ones cannot be folded in: A alone is rebuilt, B stays.
  clock.advance(MIN);
  other.upsertRuns([finished('acme/a', clock.now() - 5 * 24 * 60 * MIN, 'failure')]);
  check(live, store, pending('acme/b', clock.now()), 'b');
  assert.equal(live.stats.builds, 2);
  check(live, store, pending('acme/a', clock.now()), 'a after an out-of-order write');
  assert.equal(live.stats.builds, 3, 'only A was rebuilt');

  // When the change log was pruned past what this process saw, everything is dropped (and stays exact).
  clock.advance(MIN);
  other.transaction(() => {
    for (let i = 0; i < 6000; i++) other.upsertRuns([finished('acme/c', clock.now() - 30 * MIN + i, 'success')]);
  });
  check(live, store, pending('acme/b', clock.now()), 'b after the log was pruned');
  assert.equal(live.stats.builds, 4);
  store.close();
  other.close();
});

test('an in-process outcome is folded into the cached history instead of reloading the repo', () => {
  const { store, live, clock } = world(1500, ['acme/web']);
  check(live, store, pending('acme/web', clock.now()), 'first');
  for (let i = 0; i < 20; i++) {
    clock.advance(MIN);
    store.upsertRuns([finished('acme/web', clock.now(), i % 3 === 0 ? 'failure' : 'success')]);
    const f = check(live, store, pending('acme/web', clock.now(), { actor: `dev${i % 3}` }), `after outcome ${i}`);
    assert.equal(f[FEATURE_INDEX.last_outcome], i % 3 === 0 ? 1 : 0);
  }
  assert.deepEqual({ builds: live.stats.builds, incremental: live.stats.incremental }, { builds: 1, incremental: 20 });
  store.close();
});

test('two writers taking turns: the other connection’s earlier run is folded before this one’s own, so neither rebuilds', () => {
  const { store, other, live, clock } = world(1500, ['acme/web']);
  check(live, store, pending('acme/web', clock.now()), 'first');
  for (let i = 0; i < 20; i++) {
    clock.advance(MIN);
    // As two cluster workers do: the other process commits a run, then this one commits a run created later.
    other.upsertRuns([finished('acme/web', clock.now() - 1000, i % 4 === 0 ? 'failure' : 'success')]);
    store.upsertRuns([finished('acme/web', clock.now(), i % 3 === 0 ? 'failure' : 'success')]);
    check(live, store, pending('acme/web', clock.now() + 1, { actor: `dev${i % 3}` }), `after round ${i}`);
  }
  assert.deepEqual({ builds: live.stats.builds, incremental: live.stats.incremental }, { builds: 1, incremental: 40 });
  store.close();
  other.close();
});

test('folding falls back to a rebuild whenever it would not be exact (out-of-order creation or knowledge, a pushed-out outcome that still counts) and folds a busy repo exactly', () => {
  // (a) created before the cached runs but completed just now; (b) newest created but known before the last outcome.
  {
    const { store, live, clock } = world(300, ['acme/a']);
    check(live, store, pending('acme/a', clock.now()), 'first');
    clock.advance(MIN);
    store.upsertRuns([
      finished('acme/a', clock.now() - 3 * 24 * 60 * MIN, 'failure', {
        completed_at: new Date(clock.now() - 1000).toISOString(),
      }),
    ]);
    check(live, store, pending('acme/a', clock.now()), 'after a late report of an old run');
    assert.equal(live.stats.builds, 2);
    clock.advance(MIN);
    store.upsertRuns([finished('acme/a', clock.now(), 'success')]);
    store.upsertRuns([
      finished('acme/a', clock.now() + 5 * MIN, 'failure', {
        completed_at: new Date(clock.now() - 3 * MIN).toISOString(),
      }),
    ]);
    clock.advance(MIN);
    const f = check(live, store, pending('acme/a', clock.now()), 'after an outcome known before the last one');
    assert.equal(f[FEATURE_INDEX.last_outcome], 0);
    assert.equal(live.stats.builds, 3);
    // (e) a run whose outcome is already in the history, written again with another one.
    clock.advance(10 * MIN);
    const r = finished('acme/a', clock.now(), 'success');
    store.upsertRuns([r]);
    check(live, store, pending('acme/a', clock.now()), 'after an outcome');
    assert.equal(live.stats.builds, 3, 'folded in');
    store.upsertRuns([{ ...r, conclusion: 'failure' }]);
    check(live, store, pending('acme/a', clock.now()), 'after the outcome changed');
    assert.equal(live.stats.builds, 4);
    store.close();
  }
  // (c) a busy repo: the full window spans less than a day, and a write still folds in exactly, since
  //     runs_24h counts only the last CREATED_WINDOW runs (the ones serving loads), in training too.
  {
    const store = fullWindow('dense/r', 50_000, (i, created) => ({
      completed: created + 20_000,
      conclusion: i % 4 ? 'success' : 'failure',
    }));
    let now = WINDOW_END + 15 * MIN;
    const live = new LiveHistory(store, opts, 10, () => now);
    check(live, store, pending('dense/r', now), 'dense');
    now += MIN;
    store.upsertRuns([finished('dense/r', now, 'success')]);
    check(live, store, pending('dense/r', now), 'dense after a write');
    assert.equal(live.stats.builds, 1, 'folded, not rebuilt: the pushed-out run is outside every window');
    assert.equal(live.stats.incremental, 1);
    store.close();
  }
  // (d) a full window whose oldest run's outcome became known late (it is among the last REPO_WINDOW outcomes).
  {
    const store = fullWindow('late/r', 3_600_000, (i, created) =>
      i === 0
        ? { completed: WINDOW_END - 30 * MIN, conclusion: 'failure' }
        : { completed: created + 600_000, conclusion: 'success' },
    );
    let now = WINDOW_END + MIN;
    const live = new LiveHistory(store, opts, 10, () => now);
    check(live, store, pending('late/r', now), 'late');
    now += MIN;
    store.upsertRuns([finished('late/r', now, 'success')]);
    check(live, store, pending('late/r', now), 'late after a write');
    assert.equal(live.stats.builds, 2, 'rebuilt: the pushed-out run’s outcome still counted');
    store.close();
  }
});
