import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, EMPTY_STATE, EXPLORE_CAP, type RolloutState } from '../../src/canary/controller.ts';
import type { MetricInput } from '../../src/canary/judge.ts';
import { createRng } from '../../src/simulate/prng.ts';

const r = createRng(41);
const lat = (n: number, center = 100, sd = 10): number[] => Array.from({ length: n }, () => center + sd * r.normal());
/** The held-out setting: 30 samples per metric per interval, four metrics, only the error rate critical. */
const interval = (p50 = 100, cpu = 40): MetricInput[] => [
  {
    name: 'error_rate',
    direction: 'increase',
    critical: true,
    baseline: lat(30, 0.01, 0.002),
    canary: lat(30, 0.01, 0.002),
  },
  { name: 'latency_p50', direction: 'increase', baseline: lat(30), canary: lat(30, p50) },
  { name: 'latency_p99', direction: 'increase', baseline: lat(30, 300, 30), canary: lat(30, 300, 30) },
  { name: 'cpu', direction: 'increase', baseline: lat(30, 40, 2), canary: lat(30, cpu, 2) },
];

test('a clean low-risk release goes from 5 % to the explore cap in one decision and is promoted at the next', () => {
  let promotedAt2 = 0;
  for (let i = 0; i < 20; i++) {
    const first = decide({ current_weight: 5, elapsed_s: 60, risk: 0.1, metrics: interval() }, EMPTY_STATE);
    assert.equal(first.decision.action, 'increase');
    assert.ok(first.decision.next_weight >= EXPLORE_CAP, `5 → ${first.decision.next_weight}`);
    const second = decide(
      { current_weight: first.decision.next_weight, elapsed_s: 60, risk: 0.1, metrics: interval() },
      first.state,
    );
    assert.notEqual(second.decision.action, 'rollback');
    if (second.decision.action === 'promote') promotedAt2++;
  }
  assert.ok(promotedAt2 >= 15, `promoted at the second decision in ${promotedAt2} of 20`);
});

test('a high-risk release does not take the clean jump', () => {
  const out = decide({ current_weight: 5, elapsed_s: 60, risk: 0.8, metrics: interval() }, EMPTY_STATE);
  assert.ok(out.decision.next_weight <= 10, `high risk: 5 → ${out.decision.next_weight}`);
});

test('a non-critical regression seen at two looks in a row rolls back before max_interval_s', () => {
  let state: RolloutState = EMPTY_STATE;
  const actions: string[] = [];
  for (let i = 0; i < 4; i++) {
    const out = decide({ current_weight: 5, elapsed_s: 60 * (i + 1), risk: 0.1, metrics: interval(100, 60) }, state);
    state = out.state;
    actions.push(out.decision.action);
    if (out.decision.action === 'rollback') {
      assert.match(out.decision.reasons.join(' '), /cpu seen at 2 looks in a row/);
      break;
    }
  }
  assert.deepEqual(actions, ['hold', 'rollback']);
});
