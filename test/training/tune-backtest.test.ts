import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateHistory } from '../../src/simulate/history.ts';
import { buildFrame } from '../../src/features/frame.ts';
import { takeRows, timeOrder, splitByTime } from '../../training/split.ts';
import { thresholdsByGroup, tuneGbdt, TUNE_GRID } from '../../src/ml/tune.ts';
import { backtest, backtestReport } from '../../training/backtest.ts';
import { trainModel } from '../../src/ml/train.ts';

const runs = simulateHistory({ seed: 3, repos: 2, runsPerRepo: 900 });
const frame = buildFrame(runs);
const order = timeOrder(frame);
const { train, valid } = splitByTime(order, 0.2, 0.2);
const trainDs = takeRows(frame, train);
const validDs = takeRows(frame, valid);
const groups = Array.from(valid, (i) => frame.repo[i]);

test('tuning is deterministic for a seed, picks the best-scoring setting and records every trial', async () => {
  const grid = TUNE_GRID.slice(0, 3);
  const a = await tuneGbdt(trainDs, validDs, { seed: 5, grid, validGroups: groups, threads: 1 });
  const b = await tuneGbdt(trainDs, validDs, { seed: 5, grid, validGroups: groups, threads: 1 });
  assert.equal(a.trials.length, 3);
  assert.equal(a.truncated, false);
  assert.deepEqual(
    a.trials.map(({ ms: _ms, ...t }) => t),
    b.trials.map(({ ms: _ms, ...t }) => t),
  );
  assert.deepEqual(a.model.toJSON(), b.model.toJSON());
  assert.equal(a.chosen.score, Math.max(...a.trials.map((t) => t.score)));
  assert.ok(a.trials.every((t) => t.rounds >= 1));
});

test('a setting unchanged from the defaults grows the same trees as an untuned fit', async () => {
  const tuned = await tuneGbdt(trainDs, validDs, {
    seed: 1,
    grid: [{ maxDepth: 6, learningRate: 0.1, minDataInLeaf: 20 }],
    threads: 1,
  });
  const plain = await trainModel('gbdt', trainDs, validDs, { seed: 1, threads: 1 });
  assert.deepEqual(tuned.model.toJSON(), plain.toJSON());
});

test('the time budget stops the search after the first setting, and says so', async () => {
  const r = await tuneGbdt(trainDs, validDs, { seed: 1, grid: TUNE_GRID, budgetMs: 0, threads: 1 });
  assert.equal(r.trials.length, 1);
  assert.equal(r.truncated, true);
});

test('thresholds per group: F1-optimal where there are enough failures, the global one elsewhere', () => {
  const y = Uint8Array.from([1, 1, 0, 0, 1, 0, 0, 0]);
  const p = [0.9, 0.8, 0.3, 0.2, 0.6, 0.5, 0.1, 0.05];
  const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'];
  assert.deepEqual(thresholdsByGroup(y, p, g, 0.42, 2), { a: 0.8, b: 0.42 });
  assert.deepEqual(thresholdsByGroup(y, p, g, 0.42, 1), { a: 0.8, b: 0.6 });
});

test('backtest reports first failures and repeated failures apart, per repo, against the baseline', async () => {
  const r = await backtest(runs, { tune: true, tuneBudgetMs: 0, train: { threads: 1 } });
  assert.equal(r.repos.length, 2);
  for (const x of r.repos) {
    const s = x.after_success,
      f = x.after_failure;
    assert.equal(s.runs + f.runs, x.test_runs);
    assert.ok(s.failures > 0 && f.failures > 0);
    // "Ends like the last run" never flags a run after a success and always one after a failure.
    assert.equal(s.baseline.recall, 0);
    assert.equal(f.baseline.recall, 1);
    assert.equal(s.baseline.roc_auc, 0.5);
    assert.ok(s.roc_auc > 0.5, `${x.repo} first-failure ROC-AUC ${s.roc_auc}`);
    assert.equal(x.threshold, r.thresholds[x.repo]);
  }
  assert.ok(r.tuning && r.tuning.trials.length === 1);
  const text = backtestReport(r);
  assert.match(text, /acme\/web first failures/);
  assert.match(text, /first-failure slice: mean ROC-AUC 0\.\d{3} \(baseline 0\.500\)/);
  assert.match(text, /tuned: depth \d/);
});
