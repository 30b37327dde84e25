import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry as PromRegistry } from 'prom-client';
import {
  binOf,
  createDriftMonitor,
  histogram,
  psi,
  quantileEdges,
  referenceFromRows,
} from '../../src/registry/drift.ts';
import { rng } from '../support/runs.ts';

test('psi is 0 for identical distributions, grows with the shift, and stays finite on empty bins', () => {
  assert.equal(psi([0.25, 0.25, 0.5], [0.25, 0.25, 0.5]), 0);
  const small = psi([0.5, 0.5], [0.45, 0.55]);
  const big = psi([0.5, 0.5], [0.1, 0.9]);
  assert.ok(small > 0 && small < 0.05);
  assert.ok(big > 0.5);
  assert.ok(Number.isFinite(psi([0.5, 0.5, 0], [0.3, 0.3, 0.4])));
  assert.throws(() => psi([1], [0.5, 0.5]), /bins/);
});

test('quantile bins hold about equal training mass; missing values get their own bin', () => {
  const v = Array.from({ length: 1000 }, (_, i) => i);
  const edges = quantileEdges(v, 10);
  assert.equal(edges.length, 9);
  const h = histogram(edges, v);
  assert.equal(h[0], 0);
  for (const c of h.slice(1)) assert.ok(c >= 95 && c <= 105, `bin count ${c}`);
  assert.equal(binOf(edges, NaN), 0);
  assert.deepEqual(quantileEdges([3, 3, 3, 3]), []);
});

function rows(seed: number, n: number, shift = 0, missing = 0) {
  const r = rng(seed);
  const X = new Float32Array(n * 2);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    X[i * 2] = r() * 10 + shift;
    X[i * 2 + 1] = r() < missing ? NaN : r();
    s[i] = Math.min(1, r() * 0.5 + shift / 20);
  }
  return { X, s };
}

test('monitor: same distribution stays quiet; a shifted feature and a feature going missing alert once', async () => {
  const train = rows(1, 5000);
  const ref = referenceFromRows(train.X, 5000, 2, ['a', 'b'], train.s);
  const seen: string[][] = [];
  const prom = new PromRegistry();
  const m = createDriftMonitor({
    featureNames: ['a', 'b'],
    windowSize: 1000,
    minSamples: 200,
    onDrift: (_r, newly) => seen.push(newly),
    promRegistry: prom,
  });
  m.setReference('model-1', ref);
  const same = rows(2, 1000);
  for (let i = 0; i < 1000; i++) m.observe(same.X.subarray(i * 2, i * 2 + 2), same.s[i]);
  let r = m.check();
  assert.equal(r.ready, true);
  assert.deepEqual(r.drifted, []);
  assert.ok(r.features.every((f) => f.psi < 0.1));

  // The window slides: 1000 shifted requests replace the in-distribution ones entirely.
  const shifted = rows(3, 1000, 5, 0.5);
  for (let i = 0; i < 1000; i++) m.observe(shifted.X.subarray(i * 2, i * 2 + 2), shifted.s[i]);
  r = m.check();
  assert.equal(r.samples, 1000);
  assert.ok(
    r.drifted.includes('a') && r.drifted.includes('b') && r.drifted.includes('score'),
    JSON.stringify(r.drifted),
  );
  m.check();
  assert.equal(seen.length, 1, 'a persisting drift alerts once');
  const text = await prom.metrics();
  assert.match(text, /riskgate_feature_psi\{feature="a"\} \d/);
  assert.match(text, /riskgate_score_psi \d/);
});

test('monitor reports nothing until it has enough samples or a reference', () => {
  const m = createDriftMonitor({ featureNames: ['a', 'b'], minSamples: 50, promRegistry: null });
  m.observe([1, 2], 0.5);
  assert.equal(m.report().ready, false);
  const train = rows(1, 500);
  m.setReference('x', referenceFromRows(train.X, 500, 2, ['a', 'b'], train.s));
  for (let i = 0; i < 49; i++) m.observe([1, 0.5], 0.2);
  assert.equal(m.report().ready, false);
  m.observe([1, 0.5], 0.2);
  assert.equal(m.report().ready, true);
});
