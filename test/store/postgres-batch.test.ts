/**
 * Inside a transaction the PostgreSQL store sends statements whose answer nobody reads (BEGIN, SAVEPOINT,
 * setState, appendEvent…) with the next call that needs an answer, one thread hop for several (postgres.ts,
 * `queued`). What must hold: the hops are saved (a canary decision's transaction: 2 calls, was 5), reads in
 * the transaction see its writes, a rollback — before or after anything went out — leaves nothing, a deferred
 * write that fails fails its transaction as a whole, and bytes handed to appendEvent are the bytes stored.
 * Skips with the reason without PostgreSQL binaries (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bridgeCalls, openPostgresStore, rawQuery } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { pgMissingReason, pgOrSkip, startPostgres, type PgCluster } from '../support/postgres.ts';

let cluster: PgCluster | null = null;
before(async () => {
  if (pgMissingReason() === null) cluster = await startPostgres();
});
after(() => cluster?.destroy());

function stores(): { a: Store; b: Store; close(): void } {
  const url = cluster!.createDatabase();
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  return { a, b, close: () => [a, b].forEach((s) => s.close()) };
}

test('a canary decision’s transaction (BEGIN, getState, setState, appendEvent, COMMIT) is 2 calls to the worker', (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const { a, b, close } = stores();
  try {
    a.setState('rollout', '{"looks":0}');
    const before = bridgeCalls(a)!;
    const seen = a.transaction(() => {
      const prev = a.getState('rollout');
      a.setState('rollout', '{"looks":1}');
      a.appendEvent('canary_decision', 'svc', { prev });
      return prev;
    });
    assert.equal(bridgeCalls(a)! - before, 2);
    assert.equal(seen, '{"looks":0}');
    assert.equal(b.getState('rollout'), '{"looks":1}', 'committed');
    assert.deepEqual(
      b.listEvents('canary_decision').map((e) => e.payload),
      [{ prev: '{"looks":0}' }],
    );
    const empty = bridgeCalls(a)!;
    a.transaction(() => undefined);
    assert.equal(bridgeCalls(a)! - empty, 0, 'an empty transaction never reaches the database');
  } finally {
    close();
  }
});

test('reads in a transaction see its deferred writes; others see them only after COMMIT', (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const { a, b, close } = stores();
  try {
    a.transaction(() => {
      a.setState('k', 'v');
      a.appendEvent('e', 'k', { n: 1 });
      assert.equal(a.getState('k'), 'v');
      assert.equal(a.listEvents('e').length, 1);
      assert.equal(b.getState('k'), undefined, 'not visible before COMMIT');
      a.deleteState('k');
      assert.equal(a.getState('k'), undefined);
      a.setState('k', 'w');
    });
    assert.equal(b.getState('k'), 'w');
  } finally {
    close();
  }
});

test('rollbacks leave nothing, whether or not anything of the transaction went out', (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const { a, b, close } = stores();
  try {
    // Nothing went out: the queue is dropped.
    assert.throws(
      () => a.transaction(() => (a.setState('x', '1'), a.appendEvent('e', 'x', {}), assert.fail('boom'))),
      /boom/,
    );
    // Something went out (a read), then more was queued: rolled back in the database, the rest dropped.
    assert.throws(
      () => a.transaction(() => (a.setState('y', '1'), a.getState('y'), a.setState('z', '1'), assert.fail('boom'))),
      /boom/,
    );
    // A savepoint: the inner writes go, the outer ones stay — queued, and after a read inside.
    a.transaction(() => {
      a.setState('outer', '1');
      assert.throws(() => a.transaction(() => (a.setState('inner1', '1'), assert.fail('inner'))));
      assert.throws(() =>
        a.transaction(
          () => (a.setState('inner2', '1'), a.getState('inner2'), a.setState('inner3', '1'), assert.fail('inner')),
        ),
      );
      a.transaction(() => a.setState('inner4', '1'));
    });
    for (const k of ['x', 'y', 'z', 'inner1', 'inner2', 'inner3']) assert.equal(b.getState(k), undefined, k);
    assert.equal(b.getState('outer'), '1');
    assert.equal(b.getState('inner4'), '1');
    assert.equal(b.listEvents('e').length, 0);
    assert.equal(rawQuery(a, 'SELECT 1 AS one')[0].one, 1, 'the session is usable, no transaction left open');
    a.setState('after', '1');
    assert.equal(b.getState('after'), '1', 'autocommit again');
  } finally {
    close();
  }
});

test('a deferred write that fails fails its transaction as a whole, at the call that sent it', (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const { a, b, close } = stores();
  try {
    rawQuery(
      a,
      `CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.key = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
    );
    rawQuery(a, 'CREATE TRIGGER boom BEFORE INSERT ON state FOR EACH ROW EXECUTE FUNCTION boom()');
    assert.throws(
      () => a.transaction(() => (a.setState('first', '1'), a.setState('boom', '1'), a.appendEvent('e', 'k', {}))),
      /refused/,
    );
    assert.throws(
      () => a.transaction(() => (a.setState('first', '1'), a.setState('boom', '1'), a.getState('first'))),
      /refused/,
    );
    assert.equal(b.getState('first'), undefined);
    assert.equal(b.listEvents('e').length, 0);
    a.setState('fine', '1');
    assert.equal(b.getState('fine'), '1', 'the store goes on');
  } finally {
    close();
  }
});

test('bytes given to appendEvent in a transaction are stored as they were then, even if the caller reuses its buffer', (t) => {
  if (!pgOrSkip(t) || !cluster) return;
  const { a, b, close } = stores();
  try {
    const buf = new Uint8Array([1, 2, 3, 4]);
    a.transaction(() => {
      a.appendEvent('e', 'k', {}, buf);
      buf.fill(9);
    });
    assert.deepEqual([...b.listEvents('e')[0].data!], [1, 2, 3, 4]);
  } finally {
    close();
  }
});
