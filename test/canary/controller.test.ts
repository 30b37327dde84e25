import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decide,
  EMPTY_STATE,
  nextWeight,
  resolvePolicy,
  stepFor,
  type RolloutState,
} from '../../src/canary/controller.ts';
import type { MetricInput } from '../../src/canary/judge.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

const r = mulberry32(31);
const lat = (n: number, center = 100, sd = 10): number[] => Array.from({ length: n }, () => center + sd * normal(r));
const clean = (): MetricInput[] => [
  { name: 'p50', direction: 'increase', baseline: lat(300), canary: lat(300) },
  { name: 'errors', direction: 'increase', critical: true, baseline: lat(300, 5, 1), canary: lat(300, 5, 1) },
];

test('a critical regression rolls back at once, whatever the risk', () => {
  const out = decide({
    current_weight: 25,
    elapsed_s: 10,
    risk: 0.01,
    metrics: [
      { name: 'errors', direction: 'increase', critical: true, baseline: lat(200, 1, 0.2), canary: lat(200, 3, 0.2) },
    ],
  });
  assert.equal(out.decision.action, 'rollback');
  assert.equal(out.decision.next_weight, 0);
  assert.ok(out.decision.confidence > 0.99);
});

test('metrics unavailable → hold with the reason, no look counted, never promote', () => {
  const state: RolloutState = { evidence: {}, looks: 3, weights: [10, 50, 50] };
  const out = decide(
    { current_weight: 50, elapsed_s: 9999, risk: 0, metrics: clean(), source_errors: ['Prometheus unreachable'] },
    state,
  );
  assert.equal(out.decision.action, 'hold');
  assert.equal(out.decision.next_weight, 50);
  assert.match(out.decision.reasons[0], /unreachable/);
  assert.equal(out.state, state);
});

test('low risk with clean metrics climbs in bigger steps than high risk', () => {
  const low = decide({ current_weight: 10, elapsed_s: 60, risk: 0.05, metrics: clean() });
  const high = decide({ current_weight: 10, elapsed_s: 60, risk: 0.65, metrics: clean() });
  assert.equal(low.decision.action, 'increase');
  assert.ok(
    low.decision.next_weight > high.decision.next_weight,
    `${low.decision.next_weight} vs ${high.decision.next_weight}`,
  );
  assert.ok(high.decision.next_weight <= 15);
});

test('an inconclusive comparison does not promote, and a high-risk release waits for data', () => {
  const few: MetricInput[] = [{ name: 'p50', direction: 'increase', baseline: lat(12), canary: lat(12) }];
  const lowRisk = decide({ current_weight: 50, elapsed_s: 60, risk: 0.05, metrics: few });
  assert.notEqual(lowRisk.decision.action, 'promote');
  const highRisk = decide({ current_weight: 10, elapsed_s: 60, risk: 0.8, metrics: few });
  assert.equal(highRisk.decision.action, 'hold');
  const noData = decide({
    current_weight: 10,
    elapsed_s: 60,
    risk: 0.05,
    metrics: [{ name: 'p50', direction: 'increase', baseline: [1, 2], canary: [1, 2] }],
  });
  assert.equal(noData.decision.action, 'hold');
  assert.match(noData.decision.reasons.join(' '), /not enough data/);
});

test('a conclusive pass at half traffic or more promotes; evidence accumulates in the state', () => {
  let state = EMPTY_STATE;
  let out = decide({ current_weight: 50, elapsed_s: 60, risk: 0.1, metrics: clean() }, state);
  state = out.state;
  assert.equal(out.decision.action, 'promote');
  assert.equal(out.decision.next_weight, 100);
  assert.equal(state.looks, 1);
  out = decide({ current_weight: 10, elapsed_s: 60, risk: 0.1, metrics: clean() }, state);
  assert.equal(out.state.looks, 2);
  assert.ok(out.state.evidence.p50.location!.w > state.evidence.p50.location!.w);
});

test('step size follows risk; an explicit ladder climbs at least one rung and may skip rungs', () => {
  const p = resolvePolicy({});
  assert.equal(stepFor(0.05, p), p.max_step);
  assert.equal(stepFor(0.9, p), p.min_step);
  const ladder = resolvePolicy({ steps: [5, 10, 25, 50, 100] });
  assert.equal(nextWeight(5, 1, ladder), 10);
  assert.equal(nextWeight(5, 30, ladder), 25);
  assert.equal(nextWeight(100, 30, ladder), 100);
});

test('a non-critical regression holds, then rolls back once the interval is over', () => {
  const m = (): MetricInput[] => [
    ...clean(),
    ...clean().map((x) => ({ ...x, name: `${x.name}2` })),
    { name: 'cpu', direction: 'increase', baseline: lat(300, 40, 2), canary: lat(300, 60, 2) },
  ];
  assert.equal(decide({ current_weight: 10, elapsed_s: 60, risk: 0.1, metrics: m() }).decision.action, 'hold');
  assert.equal(decide({ current_weight: 10, elapsed_s: 900, risk: 0.1, metrics: m() }).decision.action, 'rollback');
});
