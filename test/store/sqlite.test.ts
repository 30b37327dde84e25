import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';
import { randomHistory } from '../support/runs.ts';

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
