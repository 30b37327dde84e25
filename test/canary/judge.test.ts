import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_JUDGE,
  judge,
  judgeMetric,
  observe,
  type MetricEvidence,
  type MetricInput,
} from '../../src/canary/judge.ts';
import { kayentaClassify } from '../../src/canary/policies.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

const r = mulberry32(21);
const gen = (n: number, f: () => number): number[] => Array.from({ length: n }, f);
const lat = (n: number, center = 100, sd = 10): number[] => gen(n, () => center + sd * normal(r));

// Each of Kayenta's known weaknesses: its judge (as reimplemented in policies.ts) passes, ours must not.

test('variance growing while the median stays put is a regression, not a pass', () => {
  const m: MetricInput = { name: 'latency', direction: 'increase', baseline: lat(300), canary: lat(300, 100, 30) };
  assert.equal(kayentaClassify(m), 'Pass');
  const res = judgeMetric(m, undefined).result;
  assert.equal(res.classification, 'High');
  assert.ok(res.tests.spread.harmful);
  assert.match(res.reason, /spread/);
});

test('sparse error counts with more errors on the canary are not classed as a pass', () => {
  const m: MetricInput = {
    name: 'errors',
    direction: 'increase',
    baseline: gen(300, () => (r() < 0.02 ? 1 : 0)),
    canary: gen(300, () => (r() < 0.15 ? 1 : 0)),
  };
  assert.equal(kayentaClassify(m), 'Pass');
  const res = judgeMetric(m, undefined).result;
  assert.equal(res.classification, 'High');
  assert.equal(res.effect.shift, 0, 'the HL shift is 0 — which is why a shift-based judge passes it');
});

test('errors on the canary against a zero-error baseline do not pass', () => {
  const m: MetricInput = {
    name: 'errors',
    direction: 'increase',
    baseline: gen(120, () => 0),
    canary: gen(120, () => (r() < 0.06 ? 0.5 : 0)),
  };
  assert.equal(kayentaClassify(m), 'Pass');
  let ev: MetricEvidence | undefined;
  const seen: string[] = [];
  for (let look = 0; look < 6; look++) {
    const out = judgeMetric({ ...m, canary: gen(120, () => (r() < 0.06 ? 0.5 : 0)) }, ev);
    ev = out.evidence;
    seen.push(out.result.classification);
  }
  assert.ok(!seen.includes('Pass'), seen.join(','));
  assert.equal(seen.at(-1), 'High', 'evidence accumulates across looks into a regression');
});

test('too little data is "not enough data yet", never a pass', () => {
  const m: MetricInput = { name: 'latency', direction: 'increase', baseline: [100, 101], canary: [250, 260] };
  assert.equal(kayentaClassify(m), 'Pass');
  const j = judge([m]);
  assert.equal(j.metrics[0].classification, 'NoData');
  assert.equal(j.verdict, 'inconclusive');
  assert.match(j.metrics[0].reason, /not enough data/);
});

test('identical distributions with plenty of data pass; a clear shift fails the critical metric and the analysis', () => {
  const ok = judge([{ name: 'p50', direction: 'increase', baseline: lat(300), canary: lat(300) }]);
  assert.equal(ok.metrics[0].classification, 'Pass');
  assert.equal(ok.verdict, 'pass');
  assert.equal(ok.score, 100);
  const bad = judge([
    { name: 'p50', direction: 'increase', baseline: lat(300), canary: lat(300) },
    { name: 'p95', direction: 'increase', critical: true, baseline: lat(300, 300, 20), canary: lat(300, 360, 20) },
  ]);
  assert.equal(bad.verdict, 'fail');
  assert.equal(bad.metrics[1].classification, 'High');
  assert.match(bad.reasons[0], /critical metric p95/);
});

test('direction decides which change is harmful; max_change ignores small significant shifts', () => {
  const throughputDown: MetricInput = {
    name: 'rps',
    direction: 'decrease',
    baseline: lat(300, 100, 5),
    canary: lat(300, 80, 5),
  };
  assert.equal(judgeMetric(throughputDown, undefined).result.classification, 'Low');
  const faster: MetricInput = {
    name: 'latency',
    direction: 'increase',
    baseline: lat(300, 100, 5),
    canary: lat(300, 80, 5),
  };
  assert.notEqual(judgeMetric(faster, undefined).result.classification, 'High');
  const small: MetricInput = {
    name: 'latency',
    direction: 'increase',
    baseline: lat(300, 100, 1),
    canary: lat(300, 103, 1),
    max_change: 0.1,
  };
  assert.notEqual(judgeMetric(small, undefined).result.classification, 'High', '3 % is below the 10 % practical bound');
  assert.equal(judgeMetric({ ...small, max_change: 0.01 }, undefined).result.classification, 'High');
});

test('weights and thresholds shape the score; a non-critical regression makes it marginal', () => {
  const clean = (name: string): MetricInput => ({ name, direction: 'increase', baseline: lat(300), canary: lat(300) });
  const j = judge([
    clean('a'),
    clean('b'),
    clean('c'),
    clean('d'),
    { name: 'cpu', direction: 'increase', baseline: lat(300, 40, 2), canary: lat(300, 60, 2) },
  ]);
  assert.equal(j.metrics[4].classification, 'High');
  assert.equal(j.score, 80);
  assert.equal(j.verdict, 'marginal');
  const heavy = judge([
    clean('a'),
    { name: 'cpu', direction: 'increase', weight: 9, baseline: lat(300, 40, 2), canary: lat(300, 60, 2) },
  ]);
  assert.equal(heavy.score, 10);
  assert.equal(heavy.verdict, 'fail');
});

test('non-finite samples are ignored rather than poisoning the comparison', () => {
  const res = judgeMetric(
    { name: 'x', direction: 'increase', baseline: [...lat(100), NaN, Infinity], canary: lat(100) },
    undefined,
  ).result;
  assert.equal(res.n_baseline, 100);
  assert.notEqual(res.classification, 'High');
});

test('absDeviations equals sorting the absolute deviations', async () => {
  const { absDeviations } = await import('../../src/canary/judge.ts');
  const { sortedCopy } = await import('../../src/canary/stats.ts');
  for (let t = 0; t < 50; t++) {
    const a = sortedCopy(gen(1 + Math.floor(r() * 40), () => Math.floor(r() * 10)));
    const center = Math.floor(r() * 12) - 1;
    assert.deepEqual(
      [...absDeviations(a, center)],
      [...a].map((x) => Math.abs(x - center)).sort((p, q) => p - q),
    );
  }
});

test('pooledQuantile equals the quantile of the merged, sorted samples', async () => {
  const { pooledQuantile } = await import('../../src/canary/judge.ts');
  const { sortedCopy, quantileSorted } = await import('../../src/canary/stats.ts');
  for (let t = 0; t < 200; t++) {
    // ties (small integers) and empty sides on purpose: both are common in error-count metrics
    const a = sortedCopy(gen(Math.floor(r() * 30), () => (t % 2 ? Math.floor(r() * 4) : r() * 100)));
    const b = sortedCopy(gen(1 + Math.floor(r() * 30), () => (t % 2 ? Math.floor(r() * 4) : r() * 100)));
    const all = sortedCopy([...a, ...b]);
    for (const q of [0, 0.1, 0.5, 0.9, 1, r()])
      assert.equal(pooledQuantile(a, b, q), quantileSorted(all, q), `t=${t} q=${q}`);
  }
});

test('observations made apart from the judgement (as the service does, before its write lock) judge the same', () => {
  const metrics: MetricInput[] = [
    { name: 'latency', direction: 'increase', critical: true, baseline: lat(300), canary: lat(300, 104, 12) },
    {
      name: 'errors',
      direction: 'increase',
      baseline: gen(300, () => (r() < 0.02 ? 1 : 0)),
      canary: gen(300, () => (r() < 0.03 ? 1 : 0)),
    },
    { name: 'throughput', direction: 'decrease', baseline: lat(200, 50, 5), canary: lat(4, 50, 5) },
    {
      name: 'cpu',
      direction: 'either',
      baseline: [Number.NaN, ...lat(100, 40, 4)],
      canary: [Infinity, ...lat(100, 40, 4)],
    },
  ];
  const first = judge(metrics);
  const observed = metrics.map((m) => observe(m.canary, m.baseline, m.direction, DEFAULT_JUDGE.minSamples));
  // the second look builds on the first one's evidence, so the accumulated state is compared too
  assert.deepEqual(judge(metrics, first.evidence, DEFAULT_JUDGE, observed), judge(metrics, first.evidence));
  assert.equal(observed[2].looks, undefined, 'four canary samples are too few to look at');
  assert.equal(observed[3].nCanary, 100, 'non-finite samples are not counted');
  // an observation is of the samples alone: another metric's observation changes the verdict
  const swapped = [observed[1], observed[0], observed[2], observed[3]];
  assert.notDeepEqual(judge(metrics, {}, DEFAULT_JUDGE, swapped).metrics[0].effect, first.metrics[0].effect);
});
