import { randomUUID } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Store } from '../store/types.ts';
import { redactRequestUrl } from '../redact.ts';
import { authenticate, FailedAuthLimiter, kayentaPathToken, requireScope } from './auth.ts';
import { HttpError, errorHandler, sendError } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { buildOpenApi, type OpenApiExtras } from './openapi.ts';
import { rateLimit } from './ratelimit.ts';
import { securityHeaders } from './security.ts';

/** What the probes (/ready, /health) need to know about whatever answers risk checks. */
export interface ModelStatus {
  ready(): boolean;
  info(): { id: string; version: string; kind: string; loaded_at: string } | null;
  /** True while the answers come from a stand-in (the rule-based fallback) rather than a trained model. */
  isFallback(info: { kind: string }): boolean;
}

export interface AppDeps {
  store: Store;
  model: ModelStatus;
  config: Config;
  logger?: Logger;
  /**
   * Mounts every route beyond the probes, after authentication (each applies its scope itself): route tables
   * straight onto `app`, or whole routers with `app.use`.
   */
  mount: (app: express.Express) => void;
  /** The routers' OpenAPI contributions, merged into /openapi.json. */
  openapi?: OpenApiExtras;
  /** Paths that may be fetched without a key (their own requireScope still applies), e.g. a dashboard shell. */
  anonymousOk?: (path: string) => boolean;
  /** Registry for /metrics, which domain modules (serving, drift) register their series on too. */
  metricsRegistry?: Registry;
  /** Process metrics (event loop, GC, memory) in /metrics; off in tests that build many apps. */
  defaultMetrics?: boolean;
}

/** Runs middlewares in order as one Express layer; stops at the first error. */
function chain(...handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const h = handlers[i++];
      if (!h) return next();
      try {
        h(req, res, step);
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}

const PROBES = new Set(['/live', '/ready', '/health', '/metrics']);

/**
 * Deepest nesting a JSON body may have. JSON.parse copes with any depth, but JSON.stringify (storing a
 * Kayenta request's pass-through fields, logging) recurses and overflows the stack at ~10k levels; no
 * request of ours needs more than a handful. Checked iteratively, so the check itself cannot overflow.
 */
const MAX_BODY_DEPTH = 64;
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as object))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
const depthLimit: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object' && nestedDeeperThan(body, MAX_BODY_DEPTH)) {
    const message = `nested deeper than ${MAX_BODY_DEPTH} levels`;
    return next(new HttpError(400, 'invalid_request', `request body is ${message}`, [{ path: '(root)', message }]));
  }
  next();
};
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The HTTP edge: request ids, security headers, access log and metrics, the open probes, authentication,
 * rate limits, body parsing, then the domain routers in order, the 404 and the one error shape. It knows no
 * domain: routes come from the modules that own them (serving/, canary/, registry/…), composed in src/app.ts.
 */
export function createHttpApp(deps: AppDeps): express.Express {
  const { store, model, config } = deps;
  const log = deps.logger ?? pino({ level: config.logLevel });
  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics, registry: deps.metricsRegistry });
  const startedAt = new Date();
  // One count of failed authentications per address for every authenticated path (/metrics included).
  const authFailures = new FailedAuthLimiter(config.authFailures);
  let openapi: Record<string, unknown> | null = null;

  const app = express();
  app.set('x-powered-by', false);
  app.set('etag', false);

  const security = securityHeaders();

  // One front middleware (request id, security headers, one 'finish' hook for the access log and metrics):
  // each Express layer costs measurable throughput on a route this small, so the fixed work is merged.
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const start = process.hrtime.bigint();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = res.locals.route ?? metrics.routeLabel(req);
      metrics.record(req.method, route, res.statusCode, seconds);
      const entry = {
        req_id: id,
        method: req.method,
        url: redactRequestUrl(req.originalUrl),
        status: res.statusCode,
        ms: seconds * 1000,
        key: res.locals.principal?.name,
      };
      if (PROBES.has(req.path)) log.debug(entry, 'request');
      else log.info(entry, 'request');
    });
    security(req, res, next);
  });

  // ---- open endpoints (no key): one dispatch layer instead of one router layer each ----
  const storeStatus = (): { ok: boolean; error?: string } => {
    try {
      return store.ping() ? { ok: true } : { ok: false, error: 'ping failed' };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  };
  // Reads (and so risk checks) survive a full disk or a read-only file; writes do not, and /health says so.
  const writeStatus = () => store.writeStatus?.() ?? { ok: true };
  /** Riskgate's own dependencies whose circuit state is written through the store (the GitHub ingest's). */
  const dependencies = ():
    | Record<string, { healthy: boolean; state: string; consecutive_failures: number; opened_at: string | null }>
    | undefined => {
    try {
      const row = store.getCircuit('github');
      if (!row) return undefined;
      const state = row.state === 'half_open' ? 'half-open' : row.state;
      return {
        github: {
          healthy: row.state === 'closed',
          state,
          consecutive_failures: row.consecutive_failures,
          opened_at: row.opened_at == null ? null : new Date(row.opened_at).toISOString(),
        },
      };
    } catch {
      return undefined;
    }
  };

  const open: Record<string, RequestHandler> = {
    '/live': (_req, res) => {
      res.json({ live: true });
    },
    '/ready': (_req, res) => {
      const st = storeStatus();
      const modelReady = model.ready();
      const ready = modelReady && st.ok;
      const w = writeStatus();
      res.status(ready ? 200 : 503).json({
        ready,
        model: modelReady,
        store: st.ok,
        store_writable: w.ok,
        ...(st.error ? { error: st.error } : w.error ? { error: w.error } : {}),
      });
    },
    '/health': (_req, res) => {
      const st = storeStatus();
      const info = model.info();
      const ready = model.ready() && st.ok;
      const degraded = !info || model.isFallback(info);
      const w = writeStatus();
      const status = !st.ok ? 'unavailable' : !ready || degraded || !w.ok ? 'degraded' : 'ok';
      const deps = dependencies();
      res.status(st.ok ? 200 : 503).json({
        status,
        ready,
        degraded,
        started_at: startedAt.toISOString(),
        uptime_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
        model: info,
        store: { ...st, writable: w.ok, ...(w.ok ? {} : { write_error: w.error, write_failing_since: w.since }) },
        ...(deps ? { dependencies: deps } : {}),
      });
    },
    '/metrics': chain(
      ...(config.metricsAuth ? [authenticate(config.apiKeys, { failures: authFailures }), requireScope('admin')] : []),
      (_req, res, next) => {
        metrics.registry.metrics().then((text) => {
          res.setHeader('Content-Type', metrics.registry.contentType);
          res.send(text);
        }, next);
      },
    ),
    '/openapi.json': (_req, res) => {
      openapi ??= buildOpenApi(deps.openapi);
      res.json(openapi);
    },
  };
  app.use((req, res, next) => {
    const h =
      (req.method === 'GET' || req.method === 'HEAD') && Object.hasOwn(open, req.path) ? open[req.path] : undefined;
    if (!h) return next();
    res.locals.route = req.path;
    h(req, res, next);
  });

  // ---- authenticated API ----
  const jsonOnly: RequestHandler = (req, _res, next) => {
    // Only JSON bodies are accepted; anything else is the client's mistake, reported before reading it.
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      return next(
        new HttpError(
          415,
          'unsupported_media_type',
          `expected Content-Type: application/json, got ${req.headers['content-type'] ?? 'none'}`,
        ),
      );
    }
    next();
  };
  app.use(kayentaPathToken(config.apiKeys, authFailures));
  app.use(
    chain(
      authenticate(config.apiKeys, { anonymousOk: deps.anonymousOk, failures: authFailures }),
      rateLimit(config.rateLimit),
      jsonOnly,
      express.json({ limit: config.bodyLimitBytes, type: ['application/json', 'application/*+json'], strict: true }),
      depthLimit,
    ),
  );

  deps.mount(app);

  app.use((req, res) => sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(log, { onStoreError: () => metrics.storeErrors.inc() }));
  return app;
}
