/**
 * Riskgate's Prometheus source against a real Debian Prometheus (skips without the binary, fails under
 * CI=true). What Prometheus really does (prometheus/prometheus, web/api/v1/api.go queryRange and
 * promql/engine.go): a range query evaluates the expression at every `step` from start to end, each
 * point taking the newest sample within the 5-minute lookback — so between two scrapes the last scrape
 * is repeated at every step; and it refuses more than 11,000 points per series ("exceeded maximum
 * resolution of 11,000 points per timeseries"). Its own /metrics counts the API calls it served
 * (`prometheus_http_requests_total{handler="/api/v1/query_range"}`), which is how the fan-out test
 * counts the upstream queries a request caused.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { loadConfig } from '../../src/config.ts';
import { checkQueries, MetricSourceError, queryRange, resolveQuery } from '../../src/canary/prometheus.ts';
import { CanaryDecisionRequest } from '../../src/canary/schemas.ts';
import { readFileSync } from 'node:fs';
import { serveApp, testConfig, type TestServer } from '../api/helpers.ts';
import { PROMETHEUS, requireBinary, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

const SCRAPE_S = 2;

/** One target: a counter that grows every scrape and a gauge holding the scrape number, per track. */
function target(): Promise<Server> {
  let scrapes = 0;
  const srv = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end();
    scrapes++;
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      '# HELP demo_scrape Scrape number.\n# TYPE demo_scrape gauge\n' +
        `demo_scrape{track="canary"} ${scrapes}\ndemo_scrape{track="baseline"} ${scrapes + 0.5}\n` +
        '# HELP demo_latency_ms Latency.\n# TYPE demo_latency_ms gauge\n' +
        `demo_latency_ms{track="canary"} ${100 + (scrapes % 7)}\ndemo_latency_ms{track="baseline"} ${100 + (scrapes % 5)}\n`,
    );
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

async function riskgate(prom: RunningPrometheus, env: Record<string, string> = {}): Promise<TestServer> {
  const store = openStore(':memory:');
  const config = testConfig({ RISKGATE_PROMETHEUS_URL: prom.url, ...env });
  return serveApp({
    store,
    config,
    extraRouters: [createCanaryRouter({ store, prometheusUrl: prom.url, prometheusQueries: config.prometheusQueries })],
  });
}

const post = async (base: string, body: unknown) => {
  const res = await fetch(`${base}/v1/canary/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
};
const raw = (name: string, metric: string) => ({
  name,
  direction: 'increase',
  query: { canary: `${metric}{track="canary"}`, baseline: `${metric}{track="baseline"}` },
});
const decision = (metrics: unknown[], prometheus: Record<string, number>, version = 'v1') => ({
  deployment: { service: 'demo', version },
  current_weight: 10,
  risk: 0.1,
  metrics,
  prometheus,
});
const rangeCalls = (prom: RunningPrometheus) =>
  prom.selfMetric('prometheus_http_requests_total', { handler: '/api/v1/query_range' });

test('Prometheus source against a real Prometheus', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, PROMETHEUS)) return;
  const app = await target();
  const prom = await startPrometheus({ demo: `127.0.0.1:${(app.address() as AddressInfo).port}` }, `${SCRAPE_S}s`);
  try {
    await prom.waitFor('count_over_time(demo_scrape{track="canary"}[1m])', (v) => v.length > 0 && v[0] >= 12);

    await t.test('a range query at step 1 s repeats each scrape; Riskgate samples once per scrape', async () => {
      // What Prometheus does: at step 1 s and a 2 s scrape, each scrape value appears about twice.
      const now = Math.floor(Date.now() / 1000);
      const body = new URLSearchParams({
        query: 'demo_scrape{track="canary"}',
        start: String(now - 20),
        end: String(now),
        step: '1',
      });
      const direct = (await (await fetch(`${prom.url}/api/v1/query_range`, { method: 'POST', body })).json()) as any;
      const vals = direct.data.result[0].values.map((v: [number, string]) => v[1]);
      assert.ok(
        vals.length >= 20 && new Set(vals).size <= vals.length / 2 + 1,
        `Prometheus repeats scrapes: ${vals.join(',')}`,
      );

      const srv = await riskgate(prom);
      try {
        const a = await post(srv.url, decision([raw('scrape', 'demo_scrape')], { window_s: 20, step_s: 1 }));
        assert.equal(a.status, 200, JSON.stringify(a.json));
        const m = a.json.metrics[0];
        // 20 s at one sample per 2 s scrape: 10 or 11 points, not 21.
        assert.ok(m.n_canary <= 20 / SCRAPE_S + 1 && m.n_canary >= 20 / SCRAPE_S - 1, `n_canary ${m.n_canary}`);
        assert.ok(
          a.json.reasons.some((r: string) => /scrape interval/.test(r)),
          a.json.reasons.join('; '),
        );
      } finally {
        await srv.close();
      }
    });

    await t.test(
      "a query's answer is bounded: too many points, or too many bytes, is an error naming the query, never a sample set",
      async () => {
        const now = Date.now() / 1000;
        const o = { startS: now - 20, endS: now, stepS: SCRAPE_S };
        const all = await queryRange(prom.url, '{job="demo"}', o);
        assert.ok(all.length > 20, `a selector of every series answers ${all.length} points`);
        await assert.rejects(
          queryRange(prom.url, '{job="demo"}', { ...o, maxPoints: 20 }),
          (e: Error) => e instanceof MetricSourceError && /series with \d+ points, more than the 20/.test(e.message),
        );
        await assert.rejects(
          queryRange(prom.url, '{job="demo"}', { ...o, maxBytes: 512 }),
          (e: Error) => e instanceof MetricSourceError && /larger than 512 bytes/.test(e.message),
        );
        assert.ok(
          (await queryRange(prom.url, 'demo_scrape{track="canary"}', { ...o, maxPoints: 20, maxBytes: 4096 })).length >
            0,
          'one series fits',
        );
      },
    );

    await t.test('a window and step beyond 11,000 points are refused up front, not held on forever', async () => {
      const srv = await riskgate(prom, { RISKGATE_PROMETHEUS_MAX_WINDOW_S: '86400' });
      try {
        const before = await rangeCalls(prom);
        const a = await post(srv.url, decision([raw('scrape', 'demo_scrape')], { window_s: 86_400, step_s: 1 }));
        assert.equal(a.status, 400, JSON.stringify(a.json));
        assert.equal(a.json.details[0].path, 'prometheus.step_s');
        assert.match(a.json.details[0].message, /11,000/);
        assert.equal(await rangeCalls(prom), before, 'no query was sent');
        // Without a step, one is chosen that fits: the decision is made.
        const b = await post(srv.url, decision([raw('scrape', 'demo_scrape')], { window_s: 86_400 }, 'v2'));
        assert.equal(b.status, 200, JSON.stringify(b.json));
        assert.ok(
          !b.json.reasons.some((r: string) => /exceeded maximum resolution/.test(r)),
          b.json.reasons.join('; '),
        );
        assert.ok(b.json.metrics[0].n_canary > 0);
      } finally {
        await srv.close();
      }
    });

    await t.test(
      'attack (issue 16.6): 100 PromQL metrics over 86,400 s are refused before any upstream call',
      async () => {
        const srv = await riskgate(prom);
        try {
          const before = await rangeCalls(prom);
          // 100 metrics are over the schema's cap on metrics of any kind (MAX_METRICS_PER_REQUEST, issue 16.1)…
          const many = Array.from({ length: 100 }, (_, i) => raw(`m${i}`, 'demo_latency_ms'));
          const a = await post(srv.url, decision(many, { window_s: 86_400 }));
          assert.equal(a.status, 400, JSON.stringify(a.json).slice(0, 300));
          assert.ok(
            a.json.details.some((d: any) => /metrics/.test(d.path)),
            JSON.stringify(a.json.details),
          );
          // …and 40 within that cap are still over the operator's cap on metrics that query Prometheus.
          const forty = Array.from({ length: 40 }, (_, i) => raw(`m${i}`, 'demo_latency_ms'));
          const b = await post(srv.url, decision(forty, { window_s: 86_400 }));
          assert.equal(b.status, 400, JSON.stringify(b.json).slice(0, 300));
          const paths = b.json.details.map((d: any) => d.path);
          assert.ok(paths.includes('metrics'), paths.join(','));
          assert.ok(paths.includes('prometheus.window_s'), paths.join(','));
          assert.equal(await rangeCalls(prom), before, 'no query was sent');
          // Within the limits: exactly two range queries per metric.
          const ok = await post(
            srv.url,
            decision(
              Array.from({ length: 20 }, (_, i) => raw(`m${i}`, 'demo_latency_ms')),
              { window_s: 60 },
              'v3',
            ),
          );
          assert.equal(ok.status, 200, JSON.stringify(ok.json).slice(0, 300));
          assert.equal((await rangeCalls(prom)) - before, 40);
        } finally {
          await srv.close();
        }
      },
    );

    await t.test(
      'with named templates configured, raw PromQL is refused and templates are filled with checked parameters',
      async () => {
        const templates = JSON.stringify({
          latency: {
            canary: 'demo_latency_ms{track="canary",job="{{job}}"}',
            baseline: 'demo_latency_ms{track="baseline",job="{{job}}"}',
          },
        });
        const srv = await riskgate(prom, { RISKGATE_PROMETHEUS_QUERIES: templates });
        try {
          const before = await rangeCalls(prom);
          const a = await post(srv.url, decision([raw('latency', 'demo_latency_ms')], { window_s: 20 }));
          assert.equal(a.status, 400);
          assert.equal(a.json.details[0].path, 'metrics.0.query');
          assert.match(a.json.details[0].message, /latency/, 'names the templates there are');
          const inject = await post(
            srv.url,
            decision([{ name: 'l', query: { template: 'latency', params: { job: 'demo"}or vector(1)or{x="' } } }], {
              window_s: 20,
            }),
          );
          assert.equal(inject.status, 400);
          assert.equal(inject.json.details[0].path, 'metrics.0.query.params.job');
          const unknown = await post(
            srv.url,
            decision([{ name: 'l', query: { template: 'nope', params: {} } }], { window_s: 20 }),
          );
          assert.equal(unknown.status, 400);
          const missing = await post(
            srv.url,
            decision([{ name: 'l', query: { template: 'latency', params: {} } }], { window_s: 20 }),
          );
          assert.equal(missing.status, 400);
          assert.match(missing.json.details[0].message, /job/);
          assert.equal(await rangeCalls(prom), before, 'nothing refused reached Prometheus');
          const ok = await post(
            srv.url,
            decision([{ name: 'latency', query: { template: 'latency', params: { job: 'demo' } } }], { window_s: 20 }),
          );
          assert.equal(ok.status, 200, JSON.stringify(ok.json));
          assert.ok(ok.json.metrics[0].n_canary >= 5, JSON.stringify(ok.json.metrics[0]));
          assert.equal((await rangeCalls(prom)) - before, 2);
        } finally {
          await srv.close();
        }
        // The templates file of docs/canary.md loads, and its filled PromQL is valid for Prometheus.
        const md = readFileSync(new URL('../../docs/canary.md', import.meta.url), 'utf8');
        const block = [...md.matchAll(/```json\n([\s\S]*?)```/g)]
          .map((m) => m[1])
          .find((b) => b.includes('"error_rate": {'));
        assert.ok(block, 'docs/canary.md has the templates example');
        const documented = loadConfig({ RISKGATE_PROMETHEUS_QUERIES: block }).prometheusQueries.templates!;
        assert.deepEqual(documented.get('error_rate')!.params, ['app']);
        const filled = resolveQuery({ template: 'error_rate', params: new Map([['app', 'checkout']]) }, documented);
        for (const q of [filled.canary, filled.baseline]) {
          assert.ok(q.includes('app="checkout"') && !q.includes('{{'), q);
          const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as any;
          assert.equal(r.status, 'success', JSON.stringify(r));
        }
      },
    );
  } finally {
    await prom.stop();
    app.close();
  }
});

test('configuration: limits and templates are read and checked at start-up', () => {
  const d = loadConfig({});
  assert.equal(d.prometheusQueries.maxQueryMetrics, 20);
  assert.equal(d.prometheusQueries.maxWindowS, 3600);
  assert.equal(d.prometheusQueries.templates, null);
  assert.throws(() => loadConfig({ RISKGATE_PROMETHEUS_QUERIES: '{"x": "up"}' }), /RISKGATE_PROMETHEUS_QUERIES/);
  assert.throws(() => loadConfig({ RISKGATE_PROMETHEUS_QUERIES: '{' }), /RISKGATE_PROMETHEUS_QUERIES/);
  assert.throws(() => loadConfig({ RISKGATE_PROMETHEUS_MAX_WINDOW_S: '0' }), /RISKGATE_PROMETHEUS_MAX_WINDOW_S/);
  const c = loadConfig({
    RISKGATE_PROMETHEUS_QUERIES: '{"toString": {"canary": "a{x=\\"{{v}}\\"}", "baseline": "b"}}',
    RISKGATE_PROMETHEUS_SCRAPE_INTERVAL_S: '15',
  });
  assert.deepEqual([...c.prometheusQueries.templates!.keys()], ['toString']);
  assert.equal(c.prometheusQueries.scrapeIntervalS, 15);
});

test("docs/canary.md's decision request is valid and within the default query limits", () => {
  const md = readFileSync(new URL('../../docs/canary.md', import.meta.url), 'utf8');
  const block = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('"deployment"'));
  assert.ok(block, 'docs/canary.md has the decision example');
  const req = CanaryDecisionRequest.safeParse(JSON.parse(block));
  assert.ok(req.success, JSON.stringify(req.error?.issues));
  assert.deepEqual(checkQueries(req.data, loadConfig({}).prometheusQueries), []);
  assert.equal(req.data.prometheus?.step_s, undefined, 'the example leaves the step to the scrape interval');
});
