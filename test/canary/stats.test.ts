import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binaryCompare,
  hodgesLehmann,
  kthDifference,
  mannWhitneyP,
  normalCdf,
  normalQuantile,
  rankCompare,
  sortedCopy,
} from '../../src/canary/stats.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

function bruteU(c: number[], b: number[]): number {
  let u = 0;
  for (const x of c) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  return u;
}

test('rankCompare gives the brute-force Mann-Whitney U, ties included', () => {
  const r = mulberry32(1);
  for (let t = 0; t < 200; t++) {
    const m = 1 + Math.floor(r() * 30);
    const n = 1 + Math.floor(r() * 30);
    const gen = (k: number) => Array.from({ length: k }, () => (t % 2 ? Math.floor(r() * 4) : r()));
    const c = gen(m);
    const b = gen(n);
    const got = rankCompare(sortedCopy(c), sortedCopy(b));
    assert.equal(got.u, bruteU(c, b));
    assert.ok(Math.abs(got.theta - (bruteU(c, b) / (m * n) - 0.5)) < 1e-12);
  }
});

test('tie-corrected variance is zero only when every value is tied', () => {
  assert.equal(rankCompare(sortedCopy([0, 0, 0]), sortedCopy([0, 0])).variance, 0);
  assert.ok(rankCompare(sortedCopy([0, 0, 1]), sortedCopy([0, 0])).variance > 0);
});

test('binaryCompare agrees with rankCompare on 0/1 samples', () => {
  const r = mulberry32(2);
  for (let t = 0; t < 100; t++) {
    const c = Array.from({ length: 5 + Math.floor(r() * 40) }, () => (r() < 0.3 ? 1 : 0));
    const b = Array.from({ length: 5 + Math.floor(r() * 40) }, () => (r() < 0.2 ? 1 : 0));
    const x = rankCompare(sortedCopy(c), sortedCopy(b));
    const y = binaryCompare(c.filter(Boolean).length, c.length, b.filter(Boolean).length, b.length);
    assert.ok(
      Math.abs(x.u - y.u) < 1e-9 &&
        Math.abs(x.variance - y.variance) < 1e-12 &&
        Math.abs(x.tieShare - y.tieShare) < 1e-12,
    );
  }
});

test('kthDifference is the exact order statistic of all pairwise differences', () => {
  const r = mulberry32(3);
  for (let t = 0; t < 150; t++) {
    const m = 1 + Math.floor(r() * 60);
    const n = 1 + Math.floor(r() * 60);
    const gen = (k: number) =>
      Array.from({ length: k }, () => (t % 3 === 0 ? Math.floor(r() * 3) : 100 + 10 * normal(r)));
    const c = sortedCopy(gen(m));
    const b = sortedCopy(gen(n));
    const d: number[] = [];
    for (const x of c) for (const y of b) d.push(x - y);
    d.sort((p, q) => p - q);
    for (const k of [1, Math.ceil(d.length / 2), d.length, 1 + Math.floor(r() * d.length)])
      assert.equal(kthDifference(c, b, k), d[k - 1], `m=${m} n=${n} k=${k}`);
  }
});

test('Hodges–Lehmann recovers a known shift and its Moses interval covers it', () => {
  const r = mulberry32(4);
  const b = sortedCopy(Array.from({ length: 300 }, () => 100 + 10 * normal(r)));
  const c = sortedCopy(Array.from({ length: 300 }, () => 107 + 10 * normal(r)));
  const hl = hodgesLehmann(c, b);
  assert.ok(Math.abs(hl.shift - 7) < 2, `shift ${hl.shift}`);
  assert.ok(hl.lower < 7 && hl.upper > 7 && hl.lower < hl.shift && hl.shift < hl.upper);
});

test('normal helpers are inverse of each other and the MW p-value is small for a clear shift', () => {
  for (const p of [0.001, 0.025, 0.5, 0.9, 0.999]) assert.ok(Math.abs(normalCdf(normalQuantile(p)) - p) < 1e-6);
  const c = sortedCopy(Array.from({ length: 50 }, (_, i) => i + 30));
  const b = sortedCopy(Array.from({ length: 50 }, (_, i) => i));
  assert.ok(mannWhitneyP(rankCompare(c, b)) < 1e-6);
  assert.ok(mannWhitneyP(rankCompare(b, b)) > 0.999);
});

test('kthDifference terminates and is exact (to rounding) on sparse, decimal-valued rates', () => {
  // Error rates like 0.06 − 0.02 and 0.04 − 0 differ by one ulp; the search must neither loop nor drift.
  const r = mulberry32(5);
  for (let t = 0; t < 400; t++) {
    const q = [0.01, 0.02, 0.1, 1 / 3, 0.07][t % 5];
    const gen = (k: number) => Array.from({ length: k }, () => (r() < 0.6 ? 0 : Math.floor(r() * 8) * q));
    const c = sortedCopy(gen(1 + Math.floor(r() * 80)));
    const b = sortedCopy(gen(1 + Math.floor(r() * 80)));
    const d: number[] = [];
    for (const x of c) for (const y of b) d.push(x - y);
    d.sort((p, q2) => p - q2);
    for (const k of [Math.ceil(d.length / 2), 1 + Math.floor(r() * d.length)])
      assert.ok(Math.abs(kthDifference(c, b, k) - d[k - 1]) < 1e-12);
  }
});
