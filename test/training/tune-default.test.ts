import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateHistory } from '../../src/simulate/history.ts';
import { buildFrame } from '../../src/features/frame.ts';
import { backtest } from '../../training/backtest.ts';
import { trainCandidates } from '../../training/pipeline.ts';
import { GBDT_DEFAULTS } from '../../src/ml/gbdt.ts';

// The shape search is off unless asked for (src/ml/tune.ts says why): one fit with the defaults.
const runs = simulateHistory({ seed: 5, repos: 2, runsPerRepo: 600 });

test('backtest without --tune fits once with the default shape and still picks thresholds per repo', async () => {
  const plain = await backtest(runs, { train: { threads: 1 } });
  assert.equal(plain.tuning, undefined);
  assert.deepEqual(Object.keys(plain.thresholds).sort(), [...new Set(runs.map((r) => r.repo))].sort());
  const asked = await backtest(runs, { tune: true, tuneBudgetMs: 0, train: { threads: 1 } });
  // The grid's first setting is the defaults, so a search stopped after it gives the same predictions.
  assert.equal(asked.tuning?.trials.length, 1);
  assert.deepEqual(
    { depth: asked.tuning!.chosen.maxDepth, rate: asked.tuning!.chosen.learningRate, leaf: asked.tuning!.chosen.minDataInLeaf },
    { depth: GBDT_DEFAULTS.maxDepth, rate: GBDT_DEFAULTS.learningRate, leaf: GBDT_DEFAULTS.minDataInLeaf },
  );
  assert.deepEqual(asked.predictions, plain.predictions);
});

test('trainCandidates records a search only when asked', async () => {
  const frame = buildFrame(runs);
  const off = await trainCandidates(frame, { kinds: ['gbdt'], threads: 1 });
  assert.equal(off.candidates[0].tuning, undefined);
  const on = await trainCandidates(frame, { kinds: ['gbdt'], threads: 1, tune: true, tuneBudgetMs: 0 });
  assert.equal(on.candidates[0].tuning?.trials.length, 1);
});
