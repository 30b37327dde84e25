import type { Request } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The HTTP layer's Prometheus metrics of one app instance (own registry, so several apps in one process do
 * not collide); domain modules register their own series on the same registry (serving/metrics.ts).
 */
export interface ApiMetrics {
  registry: Registry;
  /** Counts one finished request and its latency. */
  record(method: string, route: string, status: number, seconds: number): void;
  routeLabel(req: Request): string;
  storeErrors: Counter<string>;
}

/** The route pattern (e.g. /v1/circuits/:name), so paths with ids do not explode the label set. */
function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: string } }).route;
  return route?.path ? `${req.baseUrl}${route.path}` : 'unmatched';
}

export function createMetrics(opts: { defaultMetrics?: boolean; registry?: Registry } = {}): ApiMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'riskgate_' });
    // prom-client's `…_total` gauges break the exposition rules (`promtool check metrics` exits 3: "non-counter
    // metrics should not have _total suffix"), and each is the sum of its per-type gauge kept beside it
    // (e.g. sum(riskgate_nodejs_active_handles)), so they go.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(`riskgate_${name}`);
  }
  const requests = new Counter({
    name: 'riskgate_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'riskgate_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'riskgate_store_errors_total',
    help: 'Requests that failed because the store was unavailable',
    registers: [registry],
  });
  // Labelled children are cached: prom-client hashes the label object on every call otherwise.
  const reqChildren = new Map<string, { inc(): void }>();
  const latChildren = new Map<string, { observe(v: number): void }>();
  const record = (method: string, route: string, status: number, seconds: number) => {
    const rk = `${method} ${route} ${status}`;
    let c = reqChildren.get(rk);
    if (!c) reqChildren.set(rk, (c = requests.labels({ method, route, status: String(status) })));
    c.inc();
    const lk = `${method} ${route}`;
    let h = latChildren.get(lk);
    if (!h) latChildren.set(lk, (h = latency.labels({ method, route })));
    h.observe(seconds);
  };
  return { registry, record, routeLabel, storeErrors };
}
