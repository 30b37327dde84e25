/**
 * A real Prometheus (Debian's `prometheus` package) scraping two tiny HTTP apps that play canary and
 * baseline; the decision is made through the Prometheus source. Skips when the binary is absent, except
 * under CI=true where it fails.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CanaryService } from '../../src/canary/service.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { PROMETHEUS, requireBinary, startPrometheus } from '../support/prometheus.ts';

/** A fake service exposing a request counter, an error counter and a latency gauge that jitter over time. */
function fakeApp(errorShare: number, latencyMs: number): Promise<Server> {
  let requests = 0;
  let errors = 0;
  const srv = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      return res.end();
    }
    const n = 100 + Math.floor(Math.random() * 20);
    requests += n;
    errors += Math.round(n * errorShare * (0.5 + Math.random()));
    const lat = latencyMs * (0.9 + 0.2 * Math.random());
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      `# TYPE app_requests_total counter\napp_requests_total ${requests}\n# TYPE app_errors_total counter\napp_errors_total ${errors}\n# TYPE app_latency_ms gauge\napp_latency_ms ${lat}\n`,
    );
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

test(
  'decision through a real Prometheus rolls back a canary with more errors and latency',
  { timeout: 60_000 },
  async (t) => {
    if (!requireBinary(t, PROMETHEUS)) return;
    const canary = await fakeApp(0.08, 400);
    const baseline = await fakeApp(0.002, 100);
    const target = (s: Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;
    const prom = await startPrometheus({ canary: target(canary), baseline: target(baseline) });
    const store = openStore(':memory:');
    try {
      const url = prom.url;
      // Wait until both targets have ~15 s of samples.
      await prom.waitFor('count_over_time(app_latency_ms[30s])', (v) => v.length === 2 && v.every((n) => n >= 15));
      const svc = new CanaryService({ store, prometheusUrl: url });
      const q = (job: string) =>
        `rate(app_errors_total{job="${job}"}[3s]) / rate(app_requests_total{job="${job}"}[3s])`;
      const d = await svc.decide({
        deployment: { service: 'prom-demo', version: 'v2' },
        current_weight: 10,
        elapsed_s: 30,
        risk: 0.2,
        prometheus: { window_s: 20, step_s: 1 },
        metrics: [
          {
            name: 'error_rate',
            direction: 'increase',
            critical: true,
            query: { canary: q('canary'), baseline: q('baseline') },
          },
          {
            name: 'latency',
            direction: 'increase',
            critical: true,
            query: { canary: 'app_latency_ms{job="canary"}', baseline: 'app_latency_ms{job="baseline"}' },
          },
        ],
      });
      assert.equal(d.action, 'rollback', d.reasons.join('; '));
      assert.ok(d.metrics.every((m) => m.n_canary >= 10 && m.n_baseline >= 10));
      assert.equal(store.listEvents('canary_decision').length, 1);
    } finally {
      await prom.stop();
      canary.close();
      baseline.close();
      store.close();
    }
  },
);
