/**
 * Issue 16.9: names a caller chooses (metric names, Kayenta groups and tags) are keys of Maps or of
 * null-prototype objects, so `toString`, `constructor` or `__proto__` find their own entry or none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judge, type MetricInput } from '../../src/canary/judge.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

const r = mulberry32(3);
const lat = (n: number, c: number) => Array.from({ length: n }, () => c + 5 * normal(r));

test('metrics named constructor, __proto__, toString carry their evidence across looks like any other', () => {
  const run = (names: string[]) => {
    const r0 = mulberry32(11);
    const xs = (c: number) => Array.from({ length: 200 }, () => c + 5 * normal(r0));
    const metrics = (): MetricInput[] =>
      names.map((name, i) => ({ name, direction: 'increase', baseline: xs(100), canary: xs(i === 0 ? 100 : 104) }));
    const first = judge(metrics());
    // The rollout state goes through JSON between looks.
    const prior = JSON.parse(JSON.stringify(first.evidence));
    const second = judge(metrics(), prior);
    return { first, second, prior };
  };
  const plain = run(['a', 'b', 'c']);
  const odd = run(['constructor', '__proto__', 'toString']);
  assert.deepEqual(
    Object.keys(odd.prior).sort(),
    ['__proto__', 'constructor', 'toString'],
    'each name got its own evidence entry',
  );
  assert.deepEqual(
    odd.first.metrics.map((m) => m.classification),
    plain.first.metrics.map((m) => m.classification),
  );
  assert.deepEqual(
    odd.second.metrics.map((m) => [m.classification, m.p_value]),
    plain.second.metrics.map((m) => [m.classification, m.p_value]),
  );
  assert.equal(odd.second.score, plain.second.score);
  // A first look with an empty prior must not pick up Object.prototype members as evidence.
  const fresh = judge(
    [{ name: 'constructor', direction: 'increase', baseline: lat(50, 100), canary: lat(50, 100) }],
    {},
  );
  assert.equal(fresh.metrics[0].n_canary, 50);
  assert.equal(Object.getPrototypeOf({}).constructor, Object, 'Object.prototype untouched');
});
