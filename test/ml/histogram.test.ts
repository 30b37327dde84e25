import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBins, binOf, buildHistogram, fitBins, MISSING_BIN } from '../../src/ml/histogram.ts';
import { rng } from './helpers.ts';

test('quantile bins: ≤ 255 value bins, NaN in bin 0, thresholds consistent with bins', () => {
  const r = rng(1);
  const n = 5000, d = 3;
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    X[i * d] = r() < 0.1 ? NaN : r() * 100; // continuous
    X[i * d + 1] = Math.floor(r() * 4); // 4 distinct values
    X[i * d + 2] = r() < 0.5 ? 0 : r(); // heavy tie at 0
  }
  const m = fitBins(X, n, d);
  assert.ok(m.nBins[0] <= 255 && m.nBins[0] > 200);
  assert.equal(m.nBins[1], 4);
  assert.equal(m.upper[0].at(-1), Infinity);
  const bins = applyBins(m, X, n, d);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) {
      const v = X[i * d + f], b = bins[f * n + i];
      if (Number.isNaN(v)) { assert.equal(b, MISSING_BIN); continue; }
      assert.ok(b >= 1);
      // bin b holds exactly the values in (upper[b-2], upper[b-1]]
      assert.ok(v <= m.upper[f][b - 1]);
      if (b > 1) assert.ok(v > m.upper[f][b - 2]);
    }
  }
  // the heavy tie at 0 gets a bin of its own
  assert.equal(binOf(m.upper[2], 0), 1);
  assert.ok(binOf(m.upper[2], 1e-3) > 1);
});

test('histogram sums gradients, hessians and counts per bin, for a row subset', () => {
  const n = 6;
  const bins = Uint8Array.from([1, 2, 1, 0, 2, 1]); // one feature
  const g = Float32Array.from([1, 2, 3, 4, 5, 6]), h = Float32Array.from([1, 1, 1, 1, 1, 1]);
  const hist = new Float64Array(256 * 3);
  const rows = Uint32Array.from([0, 2, 3, 4, 1, 5]);
  buildHistogram(hist, bins, n, Int32Array.from([0]), 1, rows, 0, 4, g, h, new Float32Array(n), new Float32Array(n), false);
  assert.deepEqual(Array.from(hist.subarray(0, 9)), [4, 1, 1, 4, 2, 2, 5, 1, 1]);
});
