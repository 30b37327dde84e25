import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainForest } from '../../src/ml/forest.ts';
import { trainGbdt } from '../../src/ml/gbdt.ts';
import { rocAuc, f1At } from '../../src/ml/metrics.ts';
import { trainModel } from '../../src/ml/train.ts';
import { makeDataset, xor } from './helpers.ts';

test('gbdt learns an XOR interaction (held-out AUC > 0.9), calibrated output in [0,1]', async () => {
  const train = xor(4000, 1),
    valid = xor(1000, 2),
    test = xor(2000, 3);
  const m = await trainModel('gbdt', train, valid, { seed: 1 });
  const p = m.predictBatch(test.X, test.n);
  const auc = rocAuc(test.y, p);
  assert.ok(auc > 0.9, `auc ${auc}`);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
  assert.ok(m.threshold > 0 && m.threshold < 1);
  // The interaction lives in f0/f1, so they dominate the split gain.
  const top = m
    .importance()
    .slice(0, 2)
    .map((x) => x.feature)
    .sort();
  assert.deepEqual(top, ['f0', 'f1']);
});

test('missingness that predicts failure is learned (NaN stays NaN, not 0)', async () => {
  // f0 is missing for 30% of rows and those fail 90% of the time; present values are pure noise
  // around 0, so imputing 0 would make missing rows indistinguishable.
  const gen = (r: () => number): [number[], number] => {
    const miss = r() < 0.3;
    const x = [miss ? NaN : (r() - 0.5) * 0.01, r()];
    return [x, r() < (miss ? 0.9 : 0.1) ? 1 : 0];
  };
  const train = makeDataset(3000, 2, 1, gen),
    valid = makeDataset(1000, 2, 2, gen),
    test = makeDataset(2000, 2, 3, gen);
  const m = await trainModel('gbdt', train, valid, { seed: 1 });
  assert.ok(m.predict([NaN, 0.5]) > 0.75, `missing → ${m.predict([NaN, 0.5])}`);
  assert.ok(m.predict([0, 0.5]) < 0.25, `present → ${m.predict([0, 0.5])}`);
  assert.ok(rocAuc(test.y, m.predictBatch(test.X, test.n)) > 0.85);
});

test('unseen missing values at prediction time follow a learned default branch', async () => {
  const gen = (r: () => number): [number[], number] => {
    const x = r();
    return [[x], r() < (x > 0.5 ? 0.9 : 0.1) ? 1 : 0];
  };
  const m = await trainModel('gbdt', makeDataset(2000, 1, 1, gen), makeDataset(500, 1, 2, gen));
  const p = m.predict([NaN]);
  assert.ok(Number.isFinite(p) && p >= 0 && p <= 1);
});

test('early stopping stops on pure noise and keeps the best iteration', () => {
  const gen = (r: () => number): [number[], number] => [[r(), r(), r()], r() < 0.3 ? 1 : 0];
  const r = trainGbdt(makeDataset(3000, 3, 1, gen), makeDataset(1000, 3, 2, gen), {
    maxRounds: 500,
    earlyStoppingRounds: 10,
    minDataInLeaf: 5,
  });
  assert.equal(r.stoppedEarly, true);
  assert.ok(r.roundsRun < 100, `ran ${r.roundsRun} rounds`);
  assert.equal(r.roundsRun - r.bestIteration, 10);
  const best = Math.min(...r.validLoss);
  assert.equal(r.validLoss[r.bestIteration - 1], best);
});

test('class weighting raises recall at a fixed 0.5 cut on an imbalanced problem', () => {
  const gen = (r: () => number): [number[], number] => {
    const x = r();
    return [[x, r()], r() < 0.02 + 0.25 * x ** 2 ? 1 : 0];
  };
  const train = makeDataset(5000, 2, 1, gen),
    test = makeDataset(5000, 2, 3, gen);
  const recall = (cw?: 'balanced') => {
    const r = trainGbdt(train, undefined, { maxRounds: 30, classWeight: cw, earlyStoppingRounds: 0 });
    const p = Array.from({ length: test.n }, (_, i) => {
      let z = r.baseScore;
      for (const t of r.trees) {
        let node = 0;
        while (t.feature[node] >= 0)
          node = test.X[i * 2 + t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
        z += t.value[node];
      }
      return 1 / (1 + Math.exp(-z));
    });
    return f1At(test.y, p, 0.5).recall;
  };
  const plain = recall(),
    balanced = recall('balanced');
  assert.ok(plain < 0.2, `plain recall ${plain}`);
  assert.ok(balanced > plain + 0.3, `balanced recall ${balanced} vs ${plain}`);
});

test('forest reaches comparable AUC on the same XOR task', async () => {
  const train = xor(4000, 1),
    valid = xor(1000, 2),
    test = xor(2000, 3);
  const f = await trainModel('forest', train, valid, { seed: 1, maxRounds: 60 });
  const g = await trainModel('gbdt', train, valid, { seed: 1 });
  const af = rocAuc(test.y, f.predictBatch(test.X, test.n)),
    ag = rocAuc(test.y, g.predictBatch(test.X, test.n));
  assert.ok(af > 0.85, `forest auc ${af}`);
  assert.ok(af > ag - 0.05, `forest ${af} vs gbdt ${ag}`);
});

test('training rejects inconsistent data with a clear message', async () => {
  const ds = xor(100, 1);
  await assert.rejects(trainModel('gbdt', { ...ds, y: ds.y.subarray(0, 50) }, ds), /train\.y: length 50 != n = 100/);
  await assert.rejects(
    trainModel('gbdt', ds, { ...ds, featureNames: ['a', 'b', 'c', 'd', 'e'] }),
    /valid\.featureNames/,
  );
  await assert.rejects(trainModel('nope' as 'gbdt', ds, ds), /kind: expected/);
  const bad = { ...ds, y: Uint8Array.from(ds.y, (v, i) => (i === 3 ? 2 : v)) };
  await assert.rejects(trainModel('forest', bad, ds), /train\.y\[3\]: label must be 0 or 1/);
});

test('forest trees stop at pure nodes: a label fully separated by one feature takes one split, however the gradients round', () => {
  // Two pure halves (with and without class weights: the weights make the rounded g/h of the failing rows
  // differ from row to row, which is what once let noise "improve" a pure node).
  for (const classWeight of [undefined, 'balanced'] as const) {
    const ds = makeDataset(3000, 4, 17, (r) => {
      const x = [Math.floor(r() * 4), r(), r(), r()];
      return [x, x[0] >= 3 ? 1 : 0];
    });
    const { trees } = trainForest(ds, { nTrees: 5, maxFeatures: 4, seed: 3, classWeight });
    for (const t of trees)
      assert.equal(t.feature.length, 3, `one split and two leaves (got ${t.feature.length} nodes)`);
  }
});
