import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateHistory } from '../../src/simulate/history.ts';
import { buildFrame } from '../../src/features/frame.ts';
import { backtest } from '../../training/backtest.ts';
import { trainCandidates } from '../../training/pipeline.ts';
import { GBDT_DEFAULTS } from '../../src/ml/gbdt.ts';
import { SEARCH_MAX_ROWS, searchesFor } from '../../src/ml/tune.ts';

// 'auto' searches the shape only on small training sets (src/ml/tune.ts says why); true/false force it.
const runs = simulateHistory({ seed: 5, repos: 2, runsPerRepo: 600 });

test('searchesFor: auto up to the row cap, forced either way', () => {
  assert.equal(searchesFor('auto', SEARCH_MAX_ROWS), true);
  assert.equal(searchesFor('auto', SEARCH_MAX_ROWS + 1), false);
  assert.equal(searchesFor(true, 10 * SEARCH_MAX_ROWS), true);
  assert.equal(searchesFor(false, 10), false);
});

test('backtest searches a small history by default, fits the defaults once above the cap, thresholds per repo either way', async () => {
  const small = await backtest(runs, { tuneBudgetMs: 0, train: { threads: 1 } });
  assert.equal(small.tuning?.trials.length, 1);
  const large = await backtest(runs, { tuneMaxRows: 10, train: { threads: 1 } });
  assert.equal(large.tuning, undefined);
  const repos = [...new Set(runs.map((r) => r.repo))].sort();
  assert.deepEqual(Object.keys(large.thresholds).sort(), repos);
  // The grid's first setting is the defaults, so a search stopped after it predicts exactly as one fit does.
  assert.deepEqual(
    {
      depth: small.tuning!.chosen.maxDepth,
      rate: small.tuning!.chosen.learningRate,
      leaf: small.tuning!.chosen.minDataInLeaf,
    },
    { depth: GBDT_DEFAULTS.maxDepth, rate: GBDT_DEFAULTS.learningRate, leaf: GBDT_DEFAULTS.minDataInLeaf },
  );
  assert.deepEqual(small.predictions, large.predictions);
  const off = await backtest(runs, { tune: false, train: { threads: 1 } });
  assert.equal(off.tuning, undefined);
});

test('trainCandidates records a search only when it runs', async () => {
  const frame = buildFrame(runs);
  const off = await trainCandidates(frame, { kinds: ['gbdt'], threads: 1 });
  assert.equal(off.candidates[0].tuning, undefined);
  const auto = await trainCandidates(frame, { kinds: ['gbdt'], threads: 1, tune: 'auto', tuneBudgetMs: 0 });
  assert.equal(auto.candidates[0].tuning?.trials.length, 1);
  const capped = await trainCandidates(frame, { kinds: ['gbdt'], threads: 1, tune: 'auto', tuneMaxRows: 10 });
  assert.equal(capped.candidates[0].tuning, undefined);
});
