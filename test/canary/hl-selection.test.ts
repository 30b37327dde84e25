/**
 * Issue 16.1: the Hodges–Lehmann estimate and its Moses bounds by selection over the implicit matrix of
 * pairwise differences. The attack was 22,000 + 22,000 samples rounded to 0.1: with that many tied pairs
 * the old bracket search fell back to a brute-force k-th element over m·n = 484 million differences
 * (64 s, 3.9 GB), and 100k + 100k threw `RangeError: Invalid typed array length`. These tests check the
 * answer is exactly the brute-force order statistic (small inputs, heavy ties included) and that the
 * attack's sizes finish with the exact answer (the old code: 59 s for the first, a RangeError for the second;
 * the 20 s timeouts only stop a hang). How fast is measured by bench/canary-limits.ts, not here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hodgesLehmann, kthDifference, normalQuantile, sortedCopy } from '../../src/canary/stats.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

function allDiffs(c: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const d = new Float64Array(c.length * b.length);
  let p = 0;
  for (let i = 0; i < c.length; i++) for (let j = 0; j < b.length; j++) d[p++] = c[i] - b[j];
  return d.sort();
}

/** The Moses bounds' ranks exactly as hodgesLehmann states them, recomputed here from the definition. */
function bruteHL(c: Float64Array, b: Float64Array, level = 0.95): { shift: number; lower: number; upper: number } {
  const d = allDiffs(c, b);
  const N = d.length;
  const m = c.length;
  const n = b.length;
  const z = normalQuantile(1 - (1 - level) / 2);
  const ca = Math.max(1, Math.floor(N / 2 - z * Math.sqrt((N * (m + n + 1)) / 12)));
  return { shift: d[Math.ceil((N + 1) / 2) - 1], lower: d[ca - 1], upper: d[N - ca] };
}

// Values as canaries produce them: a handful of distinct levels (error counts), rates rounded to 0.1 or
// 0.01 (neighbouring differences then differ by one ulp: 0.3 − 0.1 ≠ 0.2 − 0), and continuous latencies.
const value = fc.oneof(
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: 0, max: 50 }).map((x) => Math.round(x) / 10),
  fc.integer({ min: 0, max: 300 }).map((x) => x / 100),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e-300, -1e-300, 1e300),
);
const sample = (kind: fc.Arbitrary<number>) => fc.array(kind, { minLength: 1, maxLength: 70 });
// Most samples draw from one family, so ties are heavy (the attack's shape); some mix families.
const family = fc.oneof(
  fc.constant(fc.integer({ min: 0, max: 3 })),
  fc.constant(fc.integer({ min: 0, max: 50 }).map((x) => x / 10)),
  fc.constant(fc.constantFrom(0, 0, 0, 0.1, 0.2)),
  fc.constant(value),
);

test('kthDifference is exactly the brute-force k-th pairwise difference, every k, ties included (property)', () => {
  fc.assert(
    fc.property(
      family.chain((f) => fc.tuple(sample(f), sample(f), fc.double({ min: 0, max: 1, noNaN: true }))),
      ([cs, bs, q]) => {
        const c = sortedCopy(cs);
        const b = sortedCopy(bs);
        const d = allDiffs(c, b);
        const ks = new Set([
          1,
          2,
          Math.ceil(d.length / 2),
          d.length - 1,
          d.length,
          1 + Math.min(d.length - 1, Math.floor(q * d.length)),
        ]);
        for (const k of ks)
          if (k >= 1 && k <= d.length)
            assert.ok(Object.is(kthDifference(c, b, k), d[k - 1]) || kthDifference(c, b, k) === d[k - 1], `k=${k}`);
      },
    ),
    { numRuns: 600, seed: 1601 },
  );
});

test('hodgesLehmann (shift and Moses bounds) equals the brute-force definition (property)', () => {
  fc.assert(
    fc.property(
      family.chain((f) => fc.tuple(sample(f), sample(f))),
      ([cs, bs]) => {
        const c = sortedCopy(cs);
        const b = sortedCopy(bs);
        const got = hodgesLehmann(c, b);
        const want = bruteHL(c, b);
        assert.ok(
          got.shift === want.shift && got.lower === want.lower && got.upper === want.upper,
          `${JSON.stringify(got)} vs ${JSON.stringify(want)}`,
        );
      },
    ),
    { numRuns: 400, seed: 1602 },
  );
});

test('a wrong hint (where the Moses bounds were predicted) never changes the answer', () => {
  const r = mulberry32(7);
  for (let t = 0; t < 200; t++) {
    const gen = (k: number) => Array.from({ length: k }, () => Math.floor(r() * 6) / 10);
    const c = sortedCopy(gen(1 + Math.floor(r() * 60)));
    const b = sortedCopy(gen(1 + Math.floor(r() * 60)));
    const d = allDiffs(c, b);
    const k = 1 + Math.floor(r() * d.length);
    const near = { at: (r() - 0.5) * 4, width: r() * 0.5 };
    assert.equal(kthDifference(c, b, k, near), d[k - 1]);
  }
});

/**
 * A reference for large samples on a grid: the count of each integer difference is a convolution of the
 * two histograms, so the k-th difference is found without m·n work. Exact for integer-valued samples
 * (their differences are exact doubles).
 */
function gridKth(c: Float64Array, b: Float64Array, k: number, levels: number): number {
  const hc = new Float64Array(levels);
  const hb = new Float64Array(levels);
  for (const x of c) hc[x]++;
  for (const y of b) hb[y]++;
  const ys = [...hb.keys()].filter((y) => hb[y] > 0);
  const count = new Float64Array(2 * levels - 1); // index d + levels − 1
  for (let x = 0; x < levels; x++) if (hc[x]) for (const y of ys) count[x - y + levels - 1] += hc[x] * hb[y];
  let acc = 0;
  for (let i = 0; i < count.length; i++) {
    acc += count[i];
    if (acc >= k) return i - (levels - 1);
  }
  throw new Error('k beyond the pairs');
}

test(
  'the attack: 22,000 + 22,000 samples rounded to 0.1 give the exact estimate and bounds',
  { timeout: 20_000 },
  () => {
    const r = mulberry32(16);
    // Latencies around 100 ms rounded to 0.1 ms (~3,000 distinct values): the shape that sent the old search
    // to its brute-force fallback. Generated as integer tenths, so the exact reference below applies.
    const gen = (k: number, scale: number) =>
      Array.from({ length: k }, () => Math.round(10 * scale * 100 * Math.exp(0.3 * normal(r))));
    const ci = sortedCopy(gen(22_000, 1.03));
    const bi = sortedCopy(gen(22_000, 1));
    const levels = 1 + Math.max(ci[ci.length - 1], bi[bi.length - 1]);
    // Integer copies (tenths) for the exact reference; the 0.1-valued samples are what a caller sends.
    const c = ci.map((x) => x / 10);
    const b = bi.map((x) => x / 10);
    const N = c.length * b.length;
    const hl = hodgesLehmann(c, b);
    const hlInt = hodgesLehmann(ci, bi);
    const z = normalQuantile(0.975);
    const ca = Math.floor(N / 2 - z * Math.sqrt((N * (c.length + b.length + 1)) / 12));
    assert.equal(hlInt.shift, gridKth(ci, bi, Math.ceil((N + 1) / 2), levels));
    assert.equal(hlInt.lower, gridKth(ci, bi, ca, levels));
    assert.equal(hlInt.upper, gridKth(ci, bi, N - ca + 1, levels));
    // On 0.1 steps a difference of d tenths is one of a few doubles a rounding apart from d/10.
    assert.ok(Math.abs(hl.shift - hlInt.shift / 10) < 1e-12, `${hl.shift} vs ${hlInt.shift / 10}`);
    assert.ok(Math.abs(hl.lower - hlInt.lower / 10) < 1e-12 && Math.abs(hl.upper - hlInt.upper / 10) < 1e-12);
    assert.ok(hl.lower < hl.shift && hl.shift < hl.upper && hl.shift > 0, `a 3 % slower canary: ${JSON.stringify(hl)}`);
  },
);

test('100,000 + 100,000 samples rounded to 0.1 (a RangeError before) select exactly', { timeout: 20_000 }, () => {
  const r = mulberry32(17);
  const gen = () =>
    sortedCopy(Array.from({ length: 100_000 }, () => Math.min(4999, Math.round(1000 * Math.exp(0.3 * normal(r))))));
  const ci = gen();
  const bi = gen();
  const c = ci.map((x) => x / 10);
  const b = bi.map((x) => x / 10);
  const N = c.length * b.length;
  for (const k of [1, 12_345, Math.ceil((N + 1) / 2), N - 777, N]) {
    const want = gridKth(ci, bi, k, 5000);
    assert.equal(kthDifference(ci, bi, k), want, `k=${k} (tenths)`);
    assert.ok(Math.abs(kthDifference(c, b, k) - want / 10) < 1e-12, `k=${k}`);
  }
  const hl = hodgesLehmann(c, b);
  assert.ok(Math.abs(hl.shift) < 2 && hl.lower <= hl.shift && hl.shift <= hl.upper, JSON.stringify(hl));
});
