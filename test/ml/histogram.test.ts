import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/ml/random.ts';
import {
  applyBins,
  binOf,
  buildHistogram,
  fitBins,
  gradPart,
  MISSING_BIN,
  quantizeGradients,
  sortFloat32,
} from '../../src/ml/histogram.ts';
import { rng } from './helpers.ts';

test('quantile bins: ≤ 255 value bins, NaN in bin 0, thresholds consistent with bins', () => {
  const r = rng(1);
  const n = 5000,
    d = 3;
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
      const v = X[i * d + f],
        b = bins[f * n + i];
      if (Number.isNaN(v)) {
        assert.equal(b, MISSING_BIN);
        continue;
      }
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

test('applyBins agrees with binOf on values the bins were not fitted on, infinities and never-seen features', () => {
  const r = rng(3);
  const fitN = 2000,
    d = 3;
  const X = new Float32Array(fitN * d);
  for (let i = 0; i < fitN; i++) {
    X[i * d] = r() * 10 - 5;
    X[i * d + 1] = Math.floor(r() * 300); // more distinct values than bins
    X[i * d + 2] = NaN; // never seen
  }
  const m = fitBins(X, fitN, d);
  assert.equal(m.nBins[2], 0);
  const probe = [-Infinity, -1e30, -5, -0, 0, 1e-30, 2.5, 5, 299, 300, 1e30, Infinity, NaN];
  const n = probe.length;
  const Y = new Float32Array(n * d);
  probe.forEach((v, i) => {
    Y[i * d] = v;
    Y[i * d + 1] = v;
    Y[i * d + 2] = v;
  });
  const bins = applyBins(m, Y, n, d);
  for (let f = 0; f < d; f++) {
    for (let i = 0; i < n; i++)
      assert.equal(bins[f * n + i], binOf(m.upper[f], Y[i * d + f]), `feature ${f}, value ${probe[i]}`);
  }
});

test('sortFloat32 orders like TypedArray#sort, signed zeros, infinities and subnormals included', () => {
  const r = rng(4);
  const special = [0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];
  const vals = Float32Array.from({ length: 20_000 }, (_, i) =>
    i < special.length ? special[i] : (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10),
  );
  const expected = vals.slice().sort();
  const got = sortFloat32(vals.slice(), new Uint32Array(vals.length));
  assert.deepEqual(
    Array.from(got, (v) => (Object.is(v, -0) ? '-0' : v)),
    Array.from(expected, (v) => (Object.is(v, -0) ? '-0' : v)),
  );
});

test('histogram sums the packed gradients per bin, for a row subset', () => {
  const n = 6;
  const bins = Uint8Array.from([1, 2, 1, 0, 2, 1]); // one feature
  const gh = Float64Array.from([1, 2, 3, 4, 5, 6]);
  const hist = new Float64Array(256);
  const rows = Uint32Array.from([0, 2, 3, 4, 1, 5]);
  buildHistogram(hist, bins, n, Int32Array.from([0]), 1, rows, 0, 4, gh, new Float64Array(n), false);
  // rows 0, 2, 3, 4: bin 0 ← row 3, bin 1 ← rows 0 and 2, bin 2 ← row 4
  assert.deepEqual(Array.from(hist.subarray(0, 4)), [4, 4, 5, 0]);
});

test('quantized gradients decode exactly, stay in range and are unbiased', () => {
  const n = 50_000;
  const r = mulberry32(5);
  const g = Float32Array.from({ length: n }, () => r() - 0.7);
  const h = Float32Array.from({ length: n }, () => 0.25 * r());
  const rows = Uint32Array.from({ length: n }, (_, i) => i);
  const out = new Float64Array(n);
  const { gScale, hScale, radix } = quantizeGradients(g, h, rows, n, out, 9);
  // 50,000 rows take 16 bits of each sum; the 20 bits left of a double's 52 give 10 bits to each part
  const gLevels = Math.round(g.reduce((a, v) => Math.max(a, Math.abs(v)), 0) / gScale);
  const hLevels = Math.round(h.reduce((a, v) => Math.max(a, v), 0) / hScale);
  assert.equal(gLevels, 1023);
  assert.equal(hLevels, 1023);
  let G = 0,
    H = 0,
    Gq = 0,
    Hq = 0;
  for (let i = 0; i < n; i++) {
    const gq = gradPart(out[i], radix),
      hq = out[i] - gq * radix;
    assert.ok(
      Number.isInteger(gq) && Math.abs(gq) <= gLevels && hq >= 0 && hq <= hLevels && Number.isInteger(hq),
      `row ${i}: ${gq}, ${hq}`,
    );
    // each rounding is to one of the two neighbouring levels
    assert.ok(Math.abs(gq * gScale - g[i]) < gScale && Math.abs(hq * hScale - h[i]) < hScale);
    G += g[i];
    H += h[i];
    Gq += gq;
    Hq += hq;
  }
  // a sum of packed values decodes to the sums of the parts
  let total = 0;
  for (let i = 0; i < n; i++) total += out[i];
  assert.equal(gradPart(total, radix), Gq);
  assert.equal(total - Gq * radix, Hq);
  // stochastic rounding: the error of a sum grows like √n, not n
  assert.ok(Math.abs(Gq * gScale - G) < 4 * gScale * Math.sqrt(n), `${Gq * gScale} vs ${G}`);
  assert.ok(Math.abs(Hq * hScale - H) < 4 * hScale * Math.sqrt(n), `${Hq * hScale} vs ${H}`);
});

test('quantization coarsens with the row count so sums cannot overflow, and refuses more rows than it can pack', () => {
  const one = Float32Array.from([1]);
  const rows = Uint32Array.from([0]);
  const few = quantizeGradients(one, one, rows, 1, new Float64Array(1), 1);
  const many = quantizeGradients(one, one, rows, 2 ** 22, new Float64Array(1), 1);
  assert.ok(many.gScale > few.gScale && many.hScale > few.hScale);
  // Σ|gq| ≤ rows · levels must stay below 2^53 / radix
  assert.ok((2 ** 22 * (1 / many.gScale) + 1) * many.radix < 2 ** 53);
  assert.throws(() => quantizeGradients(one, one, rows, 2 ** 25, new Float64Array(1), 1), /too many for one tree/);
});
