/**
 * planRange: the step of a range query is never finer than the scrape interval, fits Prometheus's
 * 11,000 points, and the answer says when a window cannot hold enough samples or the interval was assumed.
 */
import assert from 'node:assert/strict';
import { DEFAULT_JUDGE } from '../../src/canary/judge.ts';
import { test } from 'node:test';
import { parsePromDuration, planRange } from '../../src/canary/prometheus.ts';

test('the step follows the scrape interval; a finer requested step is raised and said', () => {
  assert.deepEqual(planRange(300, undefined, 15), { stepS: 15, note: undefined });
  const raised = planRange(300, 1, 15);
  assert.equal(raised.stepS, 15);
  assert.match(raised.note!, /step 1 s raised to 15 s/);
  assert.equal(planRange(300, 30, 15).stepS, 30, 'a coarser step is kept');
});

test('a window too short for the judge is said, with the remedy', () => {
  // A window one scrape short of what the judge needs per side, at a 15 s scrape.
  const need = DEFAULT_JUDGE.minSamples;
  const windowS = (need - 2) * 15;
  const thin = planRange(windowS, undefined, 15);
  assert.equal(thin.stepS, 15);
  assert.match(
    thin.note!,
    new RegExp(
      `a ${windowS} s window holds at most ${need - 1} samples per series, fewer than the ${need} a metric needs: widen prometheus.window_s`,
    ),
  );
  assert.equal(planRange(windowS + 15, undefined, 15).note, undefined, 'one scrape more is enough');
});

test('11,000 points: without a step, one that fits is chosen', () => {
  const p = planRange(86_400, undefined, 1);
  assert.equal(p.stepS, 8);
  assert.ok(86_400 / p.stepS + 1 <= 11_000);
});

test('an assumed interval is said', () => {
  assert.match(planRange(600, undefined, 60, 'assumed').note!, /did not say its scrape interval, so 60 s/);
  assert.equal(planRange(600, undefined, 60, 'operator').note, undefined);
});

test('Prometheus durations', () => {
  assert.equal(parsePromDuration('15s'), 15);
  assert.equal(parsePromDuration('1m30s'), 90);
  assert.equal(parsePromDuration('500ms'), 0.5);
  assert.equal(parsePromDuration('1h'), 3600);
  assert.ok(Number.isNaN(parsePromDuration('15')));
  assert.ok(Number.isNaN(parsePromDuration('')));
});
