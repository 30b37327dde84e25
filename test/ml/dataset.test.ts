import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sliceRows, validateDataset } from '../../src/ml/dataset.ts';
import { trainModel } from '../../src/ml/train.ts';
import { xor } from './helpers.ts';

test('sliceRows keeps row alignment of X, y and weights and keeps NaN', () => {
  const ds = {
    X: Float32Array.from([1, 2, NaN, 4, 5, 6]),
    n: 3,
    d: 2,
    y: Uint8Array.from([0, 1, 1]),
    featureNames: ['a', 'b'],
    w: Float32Array.from([1, 2, 3]),
  };
  const s = sliceRows(ds, 1, 3);
  assert.equal(s.n, 2);
  assert.ok(Number.isNaN(s.X[0]));
  assert.deepEqual(Array.from(s.X.subarray(1)), [4, 5, 6]);
  assert.deepEqual(Array.from(s.y), [1, 1]);
  assert.deepEqual(Array.from(s.w!), [2, 3]);
  assert.throws(() => sliceRows(ds, 2, 5), /invalid range \[2, 5\) for 3 rows/);
  assert.throws(
    () => validateDataset({ ...ds, w: Float32Array.from([1, -1, 1]) }),
    /w\[1\]: weight must be finite and >= 0/,
  );
});

test('training is deterministic for a seed and sample weights change the model', async () => {
  const train = xor(1500, 1),
    valid = xor(500, 2);
  for (const kind of ['gbdt', 'forest'] as const) {
    const a = await trainModel(kind, train, valid, { seed: 5, maxRounds: 20 });
    const b = await trainModel(kind, train, valid, { seed: 5, maxRounds: 20 });
    assert.equal(JSON.stringify(a.toJSON()), JSON.stringify(b.toJSON()));
  }
  const w = Float32Array.from({ length: train.n }, (_, i) => (train.y[i] === 1 ? 5 : 1));
  const plain = await trainModel('gbdt', train, valid, { seed: 5, maxRounds: 20, calibration: 'platt' });
  const weighted = await trainModel('gbdt', { ...train, w }, valid, { seed: 5, maxRounds: 20, calibration: 'platt' });
  assert.ok(weighted.raw([0.5, 0.5, 0, 0, 0]) > plain.raw([0.5, 0.5, 0, 0, 0]));
});
