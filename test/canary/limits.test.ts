/**
 * Issue 16.1 at the HTTP boundary: the attack's request (22,000 + 22,000 samples rounded to 0.1, a 207 KB
 * body) is refused with 400 naming the field and the limit, on the decision route and on Kayenta's /judge;
 * the largest request the limits accept is answered; and /live answers while it is judged.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { MAX_METRICS_PER_REQUEST, MAX_SAMPLES_PER_REQUEST, MAX_SAMPLES_PER_SIDE } from '../../src/canary/limits.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { call, serveApp, type TestServer } from '../api/helpers.ts';

const r = mulberry32(161);
const latencies = (n: number, scale = 1): number[] =>
  Array.from({ length: n }, () => Math.round(1000 * scale * Math.exp(0.3 * normal(r))) / 10);

let srv: TestServer;
before(async () => {
  const store = openStore(':memory:');
  srv = await serveApp({ store, extraRouters: [createCanaryRouter({ store })] });
});
after(() => srv.close());

const decision = (metrics: unknown[]) => ({
  deployment: { service: 'web', version: 'v1' },
  current_weight: 10,
  elapsed_s: 60,
  risk: 0.1,
  metrics,
});
const metric = (i: number, n: number, m = n) => ({ name: `m${i}`, baseline: latencies(n), canary: latencies(m, 1.02) });

test('the attack (22,000 + 22,000 samples rounded to 0.1) gets 400 naming the field and the per-side limit', async () => {
  const res = await call(srv.url, 'POST', '/v1/canary/decision', decision([metric(0, 22_000)]));
  assert.equal(res.status, 400);
  const d = res.body.details as { path: string; message: string }[];
  assert.ok(
    d.some((x) => x.path === 'metrics.0.baseline' && x.message.includes(String(MAX_SAMPLES_PER_SIDE))),
    JSON.stringify(d),
  );
  assert.ok(
    d.some((x) => x.path === 'metrics.0.canary'),
    'both sides are named',
  );
  assert.equal(srv.store.listEvents('canary_decision', {}).length, 0, 'nothing stored');
});

test('more samples in all than the per-request limit: 400 naming `metrics` and the limit', async () => {
  const per = Math.ceil(MAX_SAMPLES_PER_REQUEST / 10) + 1; // 10 metrics × 2 sides × per > the total
  const res = await call(
    srv.url,
    'POST',
    '/v1/canary/decision',
    decision(Array.from({ length: 10 }, (_, i) => metric(i, Math.ceil(per / 2)))),
  );
  assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
  assert.ok(
    res.body.details.some(
      (x: { path: string; message: string }) =>
        x.path === 'metrics' && x.message.includes(String(MAX_SAMPLES_PER_REQUEST)),
    ),
  );
});

test('more metrics than the per-request limit: 400 naming `metrics`', async () => {
  const res = await call(
    srv.url,
    'POST',
    '/v1/canary/decision',
    decision(Array.from({ length: MAX_METRICS_PER_REQUEST + 1 }, (_, i) => metric(i, 20))),
  );
  assert.equal(res.status, 400);
  assert.ok(
    res.body.details.some(
      (x: { path: string; message: string }) =>
        x.path === 'metrics' && x.message.includes(String(MAX_METRICS_PER_REQUEST)),
    ),
    JSON.stringify(res.body.details),
  );
});

test('Kayenta /judge: a side over the limit and a request over the total are refused with the field named', async () => {
  const pair = (name: string, n: number) => ({
    name,
    values: { control: latencies(n), experiment: latencies(n, 1.02) },
  });
  const cfg = (names: string[]) => ({
    name: 'c',
    metrics: names.map((name) => ({
      name,
      groups: ['g'],
      analysisConfigurations: { canary: { direction: 'increase' } },
    })),
  });
  const big = await call(srv.url, 'POST', '/judge', {
    canaryConfig: cfg(['lat']),
    scoreThresholds: { pass: 95, marginal: 75 },
    metricSetPairList: [pair('lat', 22_000)],
  });
  assert.equal(big.status, 400);
  assert.ok(
    big.body.details.some(
      (x: { path: string; message: string }) =>
        x.path === 'metricSetPairList.0.values.control' && x.message.includes(String(MAX_SAMPLES_PER_SIDE)),
    ),
    JSON.stringify(big.body.details),
  );
  const names = Array.from({ length: 5 }, (_, i) => `m${i}`);
  const total = await call(srv.url, 'POST', '/v1/canary/kayenta/judge', {
    canaryConfig: cfg(names),
    scoreThresholds: { pass: 95, marginal: 75 },
    metricSetPairList: names.map((n) => pair(n, Math.ceil(MAX_SAMPLES_PER_REQUEST / 10) + 1)),
  });
  assert.equal(total.status, 400);
  assert.ok(
    total.body.details.some(
      (x: { path: string; message: string }) =>
        x.path === 'metricSetPairList' && x.message.includes(String(MAX_SAMPLES_PER_REQUEST)),
    ),
  );
  assert.equal(srv.store.listEvents('canary_kayenta_judge', {}).length, 0);
});

test('the largest accepted request is answered, and /live answers while it is judged', async () => {
  // The per-request total spent on as few metrics as the per-side limit allows: the costliest shape.
  const perMetric = 2 * MAX_SAMPLES_PER_SIDE;
  const metrics = Array.from({ length: Math.floor(MAX_SAMPLES_PER_REQUEST / perMetric) }, (_, i) =>
    metric(i, MAX_SAMPLES_PER_SIDE),
  );
  const left = MAX_SAMPLES_PER_REQUEST - metrics.length * perMetric;
  if (left >= 20) metrics.push(metric(metrics.length, Math.floor(left / 2)));
  const body = decision(metrics);
  let total = 0;
  for (const m of body.metrics as { baseline: number[]; canary: number[] }[])
    total += m.baseline.length + m.canary.length;
  assert.ok(total <= MAX_SAMPLES_PER_REQUEST && total > MAX_SAMPLES_PER_REQUEST - 20);
  const judged = call(srv.url, 'POST', '/v1/canary/decision', body);
  // Probe /live until the decision has answered; every probe must succeed (no 5xx, no hang beyond the test).
  let probes = 0;
  let done = false;
  void judged.finally(() => (done = true));
  while (!done) {
    const live = await call(srv.url, 'GET', '/live');
    assert.equal(live.status, 200);
    probes++;
  }
  const res = await judged;
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.metrics.length, metrics.length);
  assert.ok(probes >= 1);
});
