/**
 * The Store contract (src/store/types.ts), as one suite both backends run: contract-sqlite.test.ts and
 * contract-postgres.test.ts call `storeContract` with a factory that opens connections to one fresh store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunRecordSchema, type RunRecord } from '../../src/records/schema.ts';
import type { Store } from '../../src/store/types.ts';
import { randomHistory } from '../support/runs.ts';

export interface Backend {
  /** A fresh, empty store; `connect()` opens another connection (another process's view) to the same one. */
  fresh(): Promise<{ store: Store; connect(): Store }>;
  /** Whether another connection's commit shows in dataVersion at once (SQLite) or by notification (PostgreSQL). */
  asyncVersion: boolean;
}

const run = (repo: string, id: string, extra: Record<string, unknown> = {}): RunRecord =>
  RunRecordSchema.parse({
    repo,
    run_id: id,
    workflow: 'ci',
    created_at: '2024-03-01T10:00:00.000Z',
    conclusion: 'success',
    ...extra,
  });

/** Waits (on the event loop, not a sleep) until `ok()` holds or `ms` pass. */
async function eventually(ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

export function storeContract(name: string, backend: Backend | null): void {
  const t = (title: string, fn: (s: Store, connect: () => Store) => void | Promise<void>) =>
    test(`${name}: ${title}`, { timeout: 60_000 }, async (ctx) => {
      if (!backend) {
        if (process.env.CI === 'true') assert.fail(`${name} backend not available: required in CI`);
        return ctx.skip(`${name} backend not available (see the file's first test for why)`);
      }
      const { store, connect } = await backend.fresh();
      const opened: Store[] = [store];
      try {
        await fn(store, () => {
          const s = connect();
          opened.push(s);
          return s;
        });
      } finally {
        for (const s of opened) s.close();
      }
    });

  t('runs come back in (repo, created_at, run_id, attempt) order, recent history newest first', (store) => {
    const runs = randomHistory(3, 1500);
    assert.deepEqual(store.upsertRuns([...runs].reverse()), { inserted: 3000, updated: 0, unchanged: 0 });
    const back = [...store.iterateRuns()];
    const key = (r: RunRecord) => [r.repo, Date.parse(r.created_at), r.run_id, r.run_attempt] as const;
    const cmp = (a: RunRecord, b: RunRecord) => {
      const x = key(a);
      const y = key(b);
      for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    };
    assert.equal(back.length, runs.length);
    for (let i = 1; i < back.length; i++) assert.ok(cmp(back[i - 1], back[i]) <= 0, `order at ${i}`);
    assert.deepEqual(new Set(back.map((r) => JSON.stringify(r))), new Set(runs.map((r) => JSON.stringify(r))));
    const mid = back[700];
    const since = [...store.iterateRuns({ repo: mid.repo, since: mid.created_at })];
    assert.deepEqual(
      since.map((r) => r.run_id),
      back.filter((r) => r.repo === mid.repo && r.created_at >= mid.created_at).map((r) => r.run_id),
    );
    const until = [...store.iterateRuns({ until: mid.created_at })];
    assert.equal(until.length, back.filter((r) => r.created_at < mid.created_at).length);
    const recent = store.recentRuns(mid.repo, mid.created_at, 10);
    assert.deepEqual(
      recent.map((r) => r.run_id),
      back
        .filter((r) => r.repo === mid.repo && r.created_at < mid.created_at)
        .reverse()
        .slice(0, 10)
        .map((r) => r.run_id),
    );
    assert.deepEqual(store.repos(), ['acme/api', 'acme/web']);
    assert.equal(store.countRuns(), 3000);
    assert.equal(store.countRuns('acme/web'), 1500);
    const actor = runs.find((r) => r.actor)!.actor!;
    const byActor = store.recentRunsByActor(mid.repo, actor, mid.created_at, 5);
    assert.ok(byActor.every((r) => r.actor === actor && r.created_at < mid.created_at));
    assert.deepEqual(
      store.recentOutcomesByActor(mid.repo, actor, mid.created_at, 5),
      byActor.map((r) => ({
        created_ms: Date.parse(r.created_at),
        completed_ms: r.completed_at ? Date.parse(r.completed_at) : null,
        run_id: r.run_id,
        run_attempt: r.run_attempt,
        conclusion: r.conclusion,
      })),
    );
  });

  t('an upsert counts inserted, updated and unchanged; a running copy never replaces a completed record', (store) => {
    assert.deepEqual(store.upsertRuns([run('a/b', '1'), run('a/b', '2', { conclusion: null })]), {
      inserted: 2,
      updated: 0,
      unchanged: 0,
    });
    assert.deepEqual(store.upsertRuns([run('a/b', '1', { conclusion: null }), run('a/b', '2')]), {
      inserted: 0,
      updated: 1,
      unchanged: 1,
    });
    assert.equal(store.getRun('a/b', 'ci', '1', 1)?.conclusion, 'success');
    assert.equal(store.getRun('a/b', 'ci', '2', 1)?.conclusion, 'success');
    assert.equal(store.getRun('a/b', 'ci', '3', 1), undefined);
    // The same key twice in one call: applied in order, as separate writes.
    assert.deepEqual(
      store.upsertRuns([run('a/b', '9', { conclusion: null }), run('a/b', '9', { conclusion: 'failure' })]),
      { inserted: 1, updated: 1, unchanged: 0 },
    );
    assert.equal(store.getRun('a/b', 'ci', '9', 1)?.conclusion, 'failure');
  });

  t('odd keys (U+0000, U+0001, 256-char workflows) are stored and found exactly', (store) => {
    const odd = ['x\u0000y', 'x\u0001y', 'x\u0001\u0001', 'x\u0000', '\u0000', 'w'.repeat(256)];
    const runs = odd.map((wf, i) => run('a/b', `id\u0000${i}`, { workflow: wf, actor: `dev\u0000${i}` }));
    assert.deepEqual(store.upsertRuns(runs), { inserted: odd.length, updated: 0, unchanged: 0 });
    for (const r of runs) assert.deepEqual(store.getRun('a/b', r.workflow, r.run_id, 1), r);
    assert.equal(store.recentOutcomesByActor('a/b', 'dev\u00002', '2030-01-01T00:00:00Z', 5)[0]?.run_id, 'id\u00002');
    store.setState('k\u0000', 'v\u0000');
    assert.equal(store.getState('k\u0000'), 'v\u0000');
    assert.equal(store.getState('k'), undefined);
    store.appendEvent('kind', 'key\u0000', { a: '\u0000' });
    assert.deepEqual(
      store.listEvents('kind', { key: 'key\u0000' }).map((e) => [e.key, e.payload]),
      [['key\u0000', { a: '\u0000' }]],
    );
  });

  t(
    'the change feed reports real changes once, after the outermost transaction commits, and nothing rolled back',
    (store) => {
      const seen: string[][] = [];
      store.onRunsChanged((repos, runs) => seen.push([...repos, ...runs.map((r) => r.run_id)]));
      const runs = randomHistory(4, 5, ['a/b']);
      store.upsertRuns(runs);
      store.upsertRuns(runs);
      assert.deepEqual(seen, [['a/b', ...runs.map((r) => r.run_id)]]);
      seen.length = 0;
      store.transaction(() => {
        store.upsertRuns([run('c/d', 'x1')]);
        assert.equal(seen.length, 0, 'not before commit');
        assert.throws(() =>
          store.transaction(() => {
            store.upsertRuns([run('c/d', 'x2')]);
            throw new Error('inner');
          }),
        );
      });
      assert.deepEqual(seen, [['c/d', 'x1']]);
      assert.equal(store.getRun('c/d', 'ci', 'x2', 1), undefined, 'the savepoint rolled back');
      assert.throws(() =>
        store.transaction(() => {
          store.upsertRuns([run('e/f', 'y')]);
          store.setState('tx', '1');
          throw new Error('outer');
        }),
      );
      assert.equal(store.getRun('e/f', 'ci', 'y', 1), undefined);
      assert.equal(store.getState('tx'), undefined);
      assert.deepEqual(seen, [['c/d', 'x1']]);
    },
  );

  t('state, circuits, models, audit and events round-trip', (store) => {
    store.setState('a', '1');
    store.setState('a', '2');
    assert.equal(store.getState('a'), '2');
    store.deleteState('a');
    assert.equal(store.getState('a'), undefined);
    const c = {
      name: 'npm',
      state: 'open' as const,
      consecutive_failures: 3,
      opened_at: 5,
      trial_at: null,
      updated_at: 6,
    };
    store.putCircuit(c);
    store.putCircuit({ ...c, name: 'apt', state: 'closed' });
    assert.deepEqual(store.getCircuit('npm'), c);
    assert.deepEqual(
      store.listCircuits().map((x) => x.name),
      ['apt', 'npm'],
    );
    const m = (id: string, created_at: string) => ({
      id,
      kind: 'gbdt',
      status: 'challenger' as const,
      created_at,
      metrics: { pr_auc: 0.5 },
      data_range: { from: null, to: null, rows: 1 },
    });
    store.putModel(m('b', '2024-02-01T00:00:00Z'));
    store.putModel(m('a', '2024-03-01T00:00:00Z'));
    store.putModel({ ...m('b', '2024-02-01T00:00:00Z'), status: 'champion' });
    assert.deepEqual(
      store.listModels().map((x) => [x.id, x.status]),
      [
        ['b', 'champion'],
        ['a', 'challenger'],
      ],
    );
    for (let i = 0; i < 5; i++)
      store.appendAudit({
        at: `2024-01-0${i + 1}T00:00:00Z`,
        actor: 'k',
        action: 'promote',
        subject: String(i),
        detail: { i },
      });
    assert.deepEqual(
      store.listAudit(3).map((a) => a.subject),
      ['4', '3', '2'],
    );
    const bytes = new Uint8Array(new Float64Array([1.5, -0, NaN, 1e308]).buffer);
    store.appendEvent('canary', 's1', { n: 1 }, bytes);
    store.appendEvent('canary', 's2', { n: 2 });
    store.appendEvent('canary', 's1', { n: 3 });
    assert.deepEqual(
      store.listEvents('canary').map((e) => e.payload.n),
      [3, 2, 1],
    );
    assert.deepEqual(
      store.listEvents('canary', { key: 's1', limit: 1 }).map((e) => e.payload.n),
      [3],
    );
    const withData = store.listEvents('canary', { key: 's1' })[1];
    assert.deepEqual(new Uint8Array(withData.data!), bytes);
    assert.equal(store.listEvents('canary', { key: 's2' })[0].data, undefined);
    assert.ok(store.ping());
    assert.deepEqual(store.writeStatus?.(), { ok: true });
  });

  t('locks expire, so a crashed holder does not block forever; only the holder unlocks', (store, connect) => {
    const other = connect();
    assert.equal(store.tryLock('retrain', 'p1', 10_000), true);
    assert.equal(other.tryLock('retrain', 'p2', 10_000), false);
    assert.equal(store.tryLock('retrain', 'p1', 10_000), true, 'the holder may renew');
    other.unlock('retrain', 'p2');
    assert.equal(other.tryLock('retrain', 'p2', 10_000), false, 'unlock by a non-holder does nothing');
    store.unlock('retrain', 'p1');
    assert.equal(other.tryLock('retrain', 'p2', -1), true);
    assert.equal(store.tryLock('retrain', 'p3', 10_000), true, 'an expired lock is taken over');
  });

  t(
    'another connection sees run writes through dataVersion and changedReposSince, with the keys changed',
    async (store, connect) => {
      const other = connect();
      const start = other.changedReposSince(0).seq;
      const v0 = other.dataVersion();
      store.upsertRuns([run('a/b', '1'), run('a/b', '2'), run('c/d', '1')]);
      store.upsertRuns(Array.from({ length: 65 }, (_, i) => run('e/f', `r${i}`)));
      if (backend!.asyncVersion) assert.ok(await eventually(() => other.dataVersion() !== v0), 'notified');
      else assert.notEqual(other.dataVersion(), v0);
      const ch = other.changedReposSince(start);
      assert.equal(ch.truncated, false);
      assert.deepEqual(ch.repos.sort(), ['a/b', 'c/d', 'e/f']);
      assert.deepEqual(ch.runs.get('a/b'), [
        ['ci', '1', 1],
        ['ci', '2', 1],
      ]);
      assert.equal(ch.runs.get('e/f'), null, 'too many keys: the whole repo');
      assert.ok(ch.seq > start);
      // Its own writes are left out (the in-process feed reports them).
      other.upsertRuns([run('g/h', '1')]);
      assert.deepEqual(other.changedReposSince(ch.seq).repos, []);
      assert.deepEqual(store.changedReposSince(ch.seq).repos, ['g/h']);
      assert.equal(store.changedReposSince(ch.seq + 1000).truncated, true, 'a position past the log: reset');
    },
  );

  t('a transaction is all or nothing, and one connection does not see another one uncommitted', (store, connect) => {
    const other = connect();
    store.transaction(() => {
      store.upsertRuns([run('a/b', '1')]);
      store.setState('k', 'v');
      assert.equal(other.getState('k'), undefined);
      assert.equal(store.getState('k'), 'v');
    });
    assert.equal(other.getState('k'), 'v');
    assert.equal(other.countRuns('a/b'), 1);
  });

  t('scanState pages through one prefix in key order and stops at its end', (store) => {
    for (const k of ['canary:b', 'canary:a', 'canary:c', 'canarz', 'canar', 'other:a']) store.setState(k, `v-${k}`);
    assert.deepEqual(store.scanState('canary:', '', 2), [
      ['canary:a', 'v-canary:a'],
      ['canary:b', 'v-canary:b'],
    ]);
    assert.deepEqual(store.scanState('canary:', 'canary:b', 2), [['canary:c', 'v-canary:c']]);
    assert.deepEqual(store.scanState('canary:', 'canary:c', 2), []);
  });

  t('pruneEvents deletes the oldest events before the horizon in batches and says when it is done', (store) => {
    for (let i = 0; i < 5; i++) store.appendEvent('risk', `k${i}`, { i });
    const future = '9999-01-01T00:00:00.000Z';
    assert.deepEqual(
      store.pruneEvents('1970-01-01T00:00:00.000Z', 10),
      { deleted: 0, done: true },
      'nothing is older than the epoch',
    );
    assert.deepEqual(store.pruneEvents(future, 2), { deleted: 2, done: false });
    assert.deepEqual(store.pruneEvents(future, 2), { deleted: 2, done: false });
    assert.deepEqual(store.pruneEvents(future, 2), { deleted: 1, done: true });
    assert.equal(store.listEvents('risk', { limit: 10 }).length, 0);
  });
}
