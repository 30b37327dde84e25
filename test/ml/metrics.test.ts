import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bestF1Threshold,
  brier,
  calibrationBins,
  confusion,
  f1At,
  prAuc,
  prCurve,
  rocAuc,
  rocCurve,
} from '../../src/ml/metrics.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('rocAuc matches hand-computed pair counts, ties count half', () => {
  // pairs (pos,neg): (0.8,0.1)=1 (0.8,0.4)=1 (0.4,0.1)=1 (0.4,0.4)=0.5 → 3.5/4
  close(rocAuc([1, 0, 1, 0], [0.8, 0.1, 0.4, 0.4]), 3.5 / 4);
  close(rocAuc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]), 1);
  close(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]), 0);
  close(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
});

test('ranking metrics are NaN when only one class is present', () => {
  assert.ok(Number.isNaN(rocAuc([1, 1, 1], [0.1, 0.2, 0.3])));
  assert.ok(Number.isNaN(rocAuc([0, 0], [0.1, 0.2])));
  assert.ok(Number.isNaN(prAuc([0, 0], [0.1, 0.2])));
  assert.equal(prAuc([1, 1], [0.1, 0.2]), 1);
});

test('prAuc is step-wise average precision like sklearn', () => {
  // sklearn: average_precision_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.8333...
  close(prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 5 / 6);
  // tie between a positive and a negative at the top: one threshold with P=1/2, R=1/2, then R=1,P=2/3
  close(prAuc([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1]), 0.5 * 0.5 + 0.5 * (2 / 3));
});

test('confusion, f1At and bestF1Threshold agree with hand counts', () => {
  const y = [1, 1, 0, 0, 1, 0];
  const p = [0.9, 0.6, 0.7, 0.2, 0.3, 0.1];
  assert.deepEqual(confusion(y, p, 0.5), { tp: 2, fp: 1, tn: 2, fn: 1 });
  const m = f1At(y, p, 0.5);
  close(m.precision, 2 / 3);
  close(m.recall, 2 / 3);
  close(m.f1, 2 / 3);
  // threshold 0.3: tp 3, fp 1 → f1 = 6/7, the best
  assert.deepEqual(bestF1Threshold(y, p), { threshold: 0.3, f1: 6 / 7 });
  assert.deepEqual(f1At([0, 0], [0.9, 0.1], 0.5), { f1: 0, precision: 0, recall: 0 });
  assert.deepEqual(bestF1Threshold([0, 0], [0.9, 0.1]), { threshold: Infinity, f1: 0 });
});

test('brier and calibration bins', () => {
  close(brier([1, 0], [0.75, 0.5]), (0.0625 + 0.25) / 2);
  assert.ok(Number.isNaN(brier([], [])));
  const c = calibrationBins([0, 1, 1, 0], [0.05, 0.15, 0.95, 0.99], 10);
  assert.deepEqual(c.count, [1, 1, 2]);
  assert.deepEqual(c.observed, [0, 1, 0.5]);
  close(c.mean_predicted[2], 0.97);
});

test('curves run from the origin to (1,1) and can be thinned', () => {
  const y = [1, 0, 1, 0, 1, 0, 0, 1];
  const p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
  const r = rocCurve(y, p);
  assert.equal(r.fpr[0], 0);
  assert.equal(r.tpr.at(-1), 1);
  assert.equal(r.fpr.at(-1), 1);
  assert.equal(r.fpr.length, 9);
  const thin = rocCurve(y, p, 3);
  assert.equal(thin.fpr.length, 3);
  const pr = prCurve(y, p);
  assert.equal(pr.recall.at(-1), 1);
  close(pr.precision.at(-1)!, 0.5);
});

test('mismatched lengths are rejected with a clear error', () => {
  assert.throws(() => rocAuc([1, 0], [0.5]), /rocAuc: y has 2 items but p has 1/);
});
