import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CircuitService, step, view, type CircuitEvent } from '../../src/policy/circuit.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { CircuitRow } from '../../src/store/types.ts';

const S = { failureThreshold: 3, cooldownMs: 1000 };

function run(events: [CircuitEvent, number][]) {
  let row: CircuitRow | undefined;
  const answers: boolean[] = [];
  for (const [e, t] of events) {
    const r = step(row, 'npm', e, t, S);
    row = r.row;
    answers.push(r.allowed);
  }
  return { row: row!, answers };
}

test('closed → open after N consecutive failures; a success in between resets the count', () => {
  const { row } = run([
    ['failure', 0],
    ['failure', 1],
    ['success', 2],
    ['failure', 3],
    ['failure', 4],
  ]);
  assert.equal(row.state, 'closed');
  assert.equal(row.consecutive_failures, 2);
  const opened = step(row, 'npm', 'failure', 5, S).row;
  assert.equal(opened.state, 'open');
  assert.equal(opened.opened_at, 5);
  const v = view(opened, 'npm', 205, S);
  assert.equal(v.state, 'open');
  assert.equal(v.cooldown_remaining_ms, 800);
  assert.equal(v.allowed, false);
});

test('open → half-open after the cooldown; exactly one trial is handed out', () => {
  let { row } = run([
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
  ]);
  assert.equal(step(row, 'npm', 'attempt', 999, S).allowed, false, 'still cooling down');
  assert.equal(view(row, 'npm', 1000, S).state, 'half-open');
  const first = step(row, 'npm', 'attempt', 1000, S);
  assert.equal(first.allowed, true);
  row = first.row;
  const second = step(row, 'npm', 'attempt', 1001, S);
  assert.equal(second.allowed, false, 'the trial is already out');
  assert.equal(view(row, 'npm', 1001, S).trial_in_flight, true);
  // half-open + success → closed
  const closed = step(row, 'npm', 'success', 1100, S).row;
  assert.equal(closed.state, 'closed');
  assert.equal(closed.consecutive_failures, 0);
  // half-open + failure → open again, with a fresh cooldown
  const reopened = step(row, 'npm', 'failure', 1100, S).row;
  assert.equal(reopened.state, 'open');
  assert.equal(view(reopened, 'npm', 1600, S).cooldown_remaining_ms, 500);
});

test('a trial that never reports back is re-issued after another cooldown', () => {
  let { row } = run([
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
  ]);
  row = step(row, 'npm', 'attempt', 1000, S).row;
  assert.equal(step(row, 'npm', 'attempt', 1999, S).allowed, false);
  assert.equal(step(row, 'npm', 'attempt', 2000, S).allowed, true);
});

test('property: at most one attempt is allowed per half-open period, and never while open', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom<CircuitEvent>('success', 'failure', 'attempt', 'attempt'),
          fc.integer({ min: 0, max: 400 }),
        ),
        { maxLength: 60 },
      ),
      (evs) => {
        let row: CircuitRow | undefined;
        let t = 0;
        let grantedSinceHalfOpen = 0;
        for (const [e, dt] of evs) {
          t += dt;
          const before = view(row, 'x', t, S);
          const r = step(row, 'x', e, t, S);
          if (e === 'attempt') {
            if (before.state === 'open') assert.equal(r.allowed, false);
            if (before.state === 'half-open' && !before.trial_in_flight && r.allowed) grantedSinceHalfOpen++;
            if (before.state === 'half-open' && before.trial_in_flight) assert.equal(r.allowed, false);
            if (before.state === 'closed') assert.equal(r.allowed, true);
          }
          if (r.row.state !== 'half_open' || e !== 'attempt') grantedSinceHalfOpen = 0;
          assert.ok(grantedSinceHalfOpen <= 1);
          row = r.row;
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('CircuitService persists through the store: two services (two runners) see the same state', () => {
  const store = openStore(':memory:');
  let now = 10_000;
  const a = new CircuitService(store, S, () => now);
  const b = new CircuitService(store, S, () => now);
  a.record('cache', 'failure');
  b.record('cache', 'failure');
  a.record('cache', 'failure');
  assert.equal(b.get('cache').state, 'open');
  now += 1000;
  assert.equal(a.get('cache').state, 'half-open');
  assert.equal(a.record('cache', 'attempt').allowed, true);
  assert.equal(b.record('cache', 'attempt').allowed, false, 'the other runner does not get a second trial');
  const closed = b.record('cache', 'success');
  assert.equal(closed.state, 'closed');
  assert.equal(a.get('cache').state, 'closed');
  assert.deepEqual(
    a.list().map((c) => c.name),
    ['cache'],
  );
});
