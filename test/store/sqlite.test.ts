import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { openStore, rawConnection } from '../../src/store/sqlite.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';
import { RunRecordSchema, type RunRecord } from '../../src/records/schema.ts';
import { randomHistory } from '../support/runs.ts';

const run = (repo: string, id: string, at = 1_700_000_000_000): RunRecord =>
  RunRecordSchema.parse({
    repo,
    run_id: id,
    workflow: 'ci',
    created_at: new Date(at).toISOString(),
    conclusion: 'success',
  });
const tempFile = (tag: string) => join(mkdtempSync(join(tmpdir(), `rg-${tag}-`)), 'x.db');

test('runs come back in (repo, created_at, run_id, attempt) order and recent history is newest first', () => {
  const store = openStore(':memory:');
  const runs = randomHistory(3, 200);
  store.upsertRuns([...runs].reverse());
  const back = [...store.iterateRuns()];
  assert.equal(back.length, runs.length);
  for (let i = 1; i < back.length; i++) {
    const a = back[i - 1];
    const b = back[i];
    assert.ok(a.repo < b.repo || (a.repo === b.repo && a.created_at <= b.created_at), `order at ${i}`);
  }
  const t = back[150].created_at;
  const recent = store.recentRuns(back[150].repo, t, 10);
  assert.equal(recent.length, 10);
  assert.ok(recent.every((r) => r.created_at < t));
  assert.ok(recent[0].created_at >= recent[9].created_at);
  assert.deepEqual(store.repos(), ['acme/api', 'acme/web']);
});

test('the change feed names the repos a write touched, and only real changes fire it', () => {
  const store = openStore(':memory:');
  const seen: string[][] = [];
  store.onRunsChanged((repos) => seen.push([...repos]));
  const runs = randomHistory(4, 5, ['a/b']);
  store.upsertRuns(runs);
  store.upsertRuns(runs);
  assert.deepEqual(seen, [['a/b']]);
});

test('locks expire, so a crashed holder does not block forever', () => {
  const store = openStore(':memory:');
  assert.equal(store.tryLock('retrain', 'p1', 10_000), true);
  assert.equal(store.tryLock('retrain', 'p2', 10_000), false);
  assert.equal(store.tryLock('retrain', 'p1', 10_000), true, 'the holder may renew');
  store.unlock('retrain', 'p1');
  assert.equal(store.tryLock('retrain', 'p2', -1), true);
  assert.equal(store.tryLock('retrain', 'p3', 10_000), true, 'an expired lock is taken over');
});

test('a store opened read-only refuses writes with StoreUnavailableError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-ro2-'));
  const file = join(dir, 'x.db');
  const s = openStore(file);
  s.upsertRuns(randomHistory(5, 10, ['a/b']));
  s.close();
  const ro = openStore(file, { readonly: true });
  assert.throws(() => ro.setState('k', 'v'), StoreUnavailableError);
  assert.throws(() => ro.upsertRuns(randomHistory(6, 1, ['a/c'])), StoreUnavailableError);
  assert.equal(ro.countRuns(), 10);
  ro.close();
});

test(
  'two processes writing at once: read-then-write transactions begin IMMEDIATE, so no write fails with SQLITE_BUSY',
  { timeout: 60_000 },
  async () => {
    const file = tempFile('busy');
    const store = openStore(file);
    const SECONDS = 3;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./children/writer.ts', import.meta.url)), file, String(SECONDS)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Start once the child is writing (its first run is in), then write as hard as it does for as long.
    while (store.countRuns('child/repo') === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    const errors: string[] = [];
    let writes = 0;
    const end = Date.now() + SECONDS * 1000;
    for (let i = 0; Date.now() < end; i++) {
      try {
        store.upsertRuns([run('parent/repo', `p${i}`, 1_700_000_000_000 + i * 1000)]);
        // read, then write (the upgrade that used to fail at once), with a nested transaction inside.
        store.transaction(() => {
          const n = Number(store.getState('parent.count') ?? 0);
          store.setState('parent.count', String(n + 1));
          store.upsertRuns([run('parent/repo', `p${i}`, 1_700_000_000_000 + i * 1000), run('parent/other', `q${i}`)]);
        });
        writes += 2;
      } catch (err) {
        errors.push(`${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    assert.equal(await exited, 0);
    const theirs = JSON.parse(out) as { writes: number; errorCount: number; errors: string[] };
    assert.deepEqual(errors.slice(0, 5), [], `this process: ${errors.length} failed writes`);
    assert.equal(theirs.errorCount, 0, `the child: ${theirs.errors.join('; ')}`);
    assert.ok(writes > 50 && theirs.writes > 50, `both wrote (${writes}, ${theirs.writes})`);
    assert.equal(Number(store.getState('parent.count')), writes / 2, 'every read-modify-write counted once');
    assert.deepEqual(store.writeStatus?.(), { ok: true });
    store.close();
  },
);

test('a write that times out on the lock is a StoreUnavailableError but does not mark the store unwritable; a real fault does', () => {
  const file = tempFile('locked');
  const a = openStore(file);
  const b = openStore(file);
  rawConnection(a)!.pragma('busy_timeout = 0');
  const holder = rawConnection(b)!;
  holder.prepare('BEGIN IMMEDIATE').run();
  try {
    assert.throws(() => a.setState('k', 'v'), StoreUnavailableError);
    assert.throws(() => a.transaction(() => a.setState('k', 'v')), StoreUnavailableError);
    assert.throws(() => a.upsertRuns([run('a/b', '1')]), StoreUnavailableError);
    assert.deepEqual(a.writeStatus?.(), { ok: true }, 'contention is not a storage fault');
  } finally {
    holder.prepare('ROLLBACK').run();
  }
  a.setState('k', 'v');
  rawConnection(a)!.pragma('query_only = 1');
  assert.throws(() => a.setState('k', 'w'), StoreUnavailableError);
  assert.equal(a.writeStatus?.().ok, false, 'a read-only file is');
  rawConnection(a)!.pragma('query_only = 0');
  a.setState('k', 'w');
  assert.deepEqual(a.writeStatus?.(), { ok: true });
  a.close();
  b.close();
});

test('nested transactions are savepoints, and the change feed reports only what committed', () => {
  const store = openStore(':memory:');
  const seen: string[][] = [];
  store.onRunsChanged((_repos, runs) => seen.push(runs.map((r) => r.run_id)));
  store.transaction(() => {
    store.upsertRuns([run('a/b', '1')]);
    assert.deepEqual(seen, [], 'not reported before the outer commit');
    assert.throws(() =>
      store.transaction(() => {
        store.upsertRuns([run('a/b', '2')]);
        throw new Error('inner fails');
      }),
    );
    store.upsertRuns([run('a/b', '3')]);
  });
  assert.deepEqual(seen, [['1', '3']]);
  assert.deepEqual(
    [...store.iterateRuns()].map((r) => r.run_id),
    ['1', '3'],
    'the inner savepoint rolled back alone',
  );
  assert.throws(() =>
    store.transaction(() => {
      store.upsertRuns([run('a/b', '4')]);
      throw new Error('outer fails');
    }),
  );
  assert.deepEqual(seen, [['1', '3']], 'a rolled-back write is not reported');
  assert.equal(store.countRuns(), 2);
  store.upsertRuns([run('a/b', '5')]);
  assert.deepEqual(seen, [['1', '3'], ['5']]);
});

test('changedReposSince lists the repos and runs other connections wrote, not its own, and says when the log was pruned past', () => {
  const file = tempFile('changes');
  const a = openStore(file);
  const b = openStore(file);
  const start = b.changedReposSince(0);
  assert.deepEqual(start, { repos: [], runs: new Map(), seq: 0, truncated: false });
  a.upsertRuns([run('x/one', '1'), run('x/two', '1'), run('x/one', '2')]);
  a.upsertRuns([run('x/one', '1')]); // unchanged: not logged
  b.upsertRuns([run('x/three', '1')]);
  const seen = b.changedReposSince(start.seq);
  assert.deepEqual(seen.repos, ['x/one', 'x/two']);
  assert.deepEqual(seen.runs.get('x/one'), [
    ['ci', '1', 1],
    ['ci', '2', 1],
  ]);
  assert.equal(seen.truncated, false);
  assert.deepEqual(a.changedReposSince(0).repos, ['x/three'], 'a sees b’s write only');
  assert.deepEqual(b.changedReposSince(seen.seq).repos, [], 'nothing new since');
  // A write of many runs names the repo alone.
  a.upsertRuns(Array.from({ length: 100 }, (_, i) => run('x/big', `b${i}`)));
  const big = b.changedReposSince(seen.seq);
  assert.deepEqual(big.repos, ['x/big']);
  assert.equal(big.runs.get('x/big'), null);
  // Pruned: the log keeps the last few thousand upserts, so a reader that far behind must start over.
  a.transaction(() => {
    for (let i = 0; i < 6000; i++) a.upsertRuns([run('x/many', `m${i}`)]);
  });
  const late = b.changedReposSince(seen.seq);
  assert.equal(late.truncated, true);
  assert.equal(b.changedReposSince(late.seq).truncated, false);
  assert.ok(
    (rawConnection(a)!.prepare('SELECT count(*) FROM run_changes').pluck().get() as number) <= 5300,
    'the log stays small',
  );
  a.close();
  b.close();
});

test('events keep binary data beside their JSON exactly, also in a database made before the data column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-events-'));
  try {
    const file = join(dir, 'old.db');
    // a store as migration 3 left it, with an event already in it
    const old = new Database(file);
    for (const [i, sql] of MIGRATIONS.slice(0, 3).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old
      .prepare('INSERT INTO events (kind, key, at, payload) VALUES (?, ?, ?, ?)')
      .run('k', 'a', new Date().toISOString(), '{"n":1}');
    old.close();
    const store = openStore(file);
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255);
    store.appendEvent('k', 'b', { n: 2 }, bytes);
    const [withData, without] = store.listEvents('k');
    assert.deepEqual(withData.payload, { n: 2 });
    assert.deepEqual(new Uint8Array(withData.data!), bytes);
    assert.deepEqual(without.payload, { n: 1 });
    assert.equal(without.data, undefined);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
