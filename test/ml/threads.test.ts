import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainForest } from '../../src/ml/forest.ts';
import { trainGbdt } from '../../src/ml/gbdt.ts';
import { applyBins, fitBins } from '../../src/ml/histogram.ts';
import type { FlatTree } from '../../src/ml/tree.ts';
import { TreeGrower, type GrowParams } from '../../src/ml/tree-grower.ts';
import { rng } from './helpers.ts';

function problem(n: number, d: number) {
  const r = rng(21);
  const X = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) X[i * d + f] = r() < 0.05 ? NaN : r();
    y[i] = X[i * d] + X[i * d + 1] * X[i * d + 2] > 0.8 || r() < 0.05 ? 1 : 0;
  }
  const mapper = fitBins(X, n, d, 255);
  const g = Float32Array.from(y, (v) => 0.3 - v),
    h = Float32Array.from(y, () => 0.21);
  return { bins: applyBins(mapper, X, n, d), mapper, g, h };
}

const grow = (threads: number, perNode: boolean): { trees: FlatTree[]; threadCount: number } => {
  const n = 6000,
    d = 13;
  const { bins, mapper, g, h } = problem(n, d);
  // every histogram handed out, however small, so the threaded path is what runs
  const grower = new TreeGrower(bins, n, d, mapper, { threads, minParallelWork: 0 });
  const p: GrowParams = {
    maxDepth: 6,
    numLeaves: perNode ? 64 : 31,
    minDataInLeaf: 5,
    minSumHessian: 1e-3,
    lambdaL2: 1,
    minGainToSplit: 0,
    featuresPerNode: perNode ? 4 : d,
  };
  const feats = Int32Array.from({ length: d }, (_, i) => i);
  const r = rng(5);
  try {
    const trees: FlatTree[] = [];
    for (let t = 0; t < 3; t++) {
      const rows = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => t === 0 || (i * 7 + t) % 3 !== 0);
      trees.push(grower.grow({ g, h, rows, nRows: rows.length, feats, nFeats: d, params: p, rng: r, scale: 0.1 }));
    }
    return { trees, threadCount: grower.threadCount };
  } finally {
    grower.close();
  }
};

for (const perNode of [false, true]) {
  test(`histograms built on worker threads give the same trees as one thread (${perNode ? 'forest' : 'boosting'} mode)`, () => {
    const one = grow(1, perNode);
    const two = grow(2, perNode);
    assert.equal(one.threadCount, 1);
    assert.equal(two.threadCount, 2, 'the worker thread started');
    assert.ok(one.trees[0].feature.length > 20, 'trees that split');
    assert.deepEqual(two.trees, one.trees);
  });
}

test('trainGbdt and trainForest give the same model on one thread and on two', () => {
  const n = 30_000,
    d = 8;
  const { X, y } = (() => {
    const r = rng(8);
    const X = Float32Array.from({ length: n * d }, () => (r() < 0.03 ? NaN : r()));
    const y = Uint8Array.from({ length: n }, (_, i) => (X[i * d] * X[i * d + 1] > 0.3 || r() < 0.1 ? 1 : 0));
    return { X, y };
  })();
  const ds = { X, n, d, y, featureNames: Array.from({ length: d }, (_, f) => `f${f}`) };
  const gb = (threads: number) => trainGbdt(ds, undefined, { maxRounds: 5, earlyStoppingRounds: 0, threads }).trees;
  assert.deepEqual(gb(2), gb(1));
  const rf = (threads: number) => trainForest(ds, { nTrees: 3, maxDepth: 8, threads }).trees;
  assert.deepEqual(rf(2), rf(1));
});
