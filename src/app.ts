/**
 * The server's composition: the HTTP edge (api/) with the core routes of the modules that own them —
 * serving/ (risk checks, outcomes) and policy/'s circuit breakers — plus whatever routers the caller adds
 * (canary, models, reports, dashboard; commands/serve.ts adds them). Tests build this same app.
 */
import type express from 'express';
import type { Router } from 'express';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createHttpApp } from './api/app.ts';
import { mergeOpenApi, type OpenApiExtras } from './api/openapi.ts';
import type { Config } from './config.ts';
import type { CircuitView } from './policy/circuit.ts';
import { circuitOpenApi, mountCircuitRoutes } from './policy/circuit-router.ts';
import { createFallbackScorer, FALLBACK_MODEL } from './serving/fallback-scorer.ts';
import { servingMetrics } from './serving/metrics.ts';
import { createRiskLog, type RiskLog } from './serving/risk-log.ts';
import type { RiskMemory } from './serving/risk-memory.ts';
import { mountServingRoutes, servingOpenApi } from './serving/router.ts';
import { RiskService } from './serving/service.ts';
import type { Scorer } from './serving/types.ts';
import type { Store } from './store/types.ts';

export interface AppDeps {
  store: Store;
  scorer: Scorer;
  config: Config;
  logger?: Logger;
  /** Routers (canary, models, dashboard…) mounted after the core ones; each applies `requireScope` itself. */
  extraRouters?: Router[];
  /** Their schemas/paths for /openapi.json. */
  openapi?: OpenApiExtras;
  /** Paths that may be fetched without a key (their own requireScope still applies), e.g. a dashboard shell. */
  anonymousOk?: (path: string) => boolean;
  /** Remembers each answered risk by commit (the canary router reads it). */
  riskMemory?: RiskMemory;
  /** Registry for /metrics, when other parts of the process (drift gauges) register there too. */
  metricsRegistry?: Registry;
  /** Where answered risk checks are logged for the dashboard (default: a batched log on `store`). */
  riskLog?: RiskLog;
  /** A pipeline dependency's circuit just opened (alerting). */
  onCircuitOpen?: (view: CircuitView) => void;
  /** Process metrics (event loop, GC, memory) in /metrics; off in tests that build many apps. */
  defaultMetrics?: boolean;
  /** The instant a risk request without `created_at` is judged at (epoch ms; default Date.now). */
  clock?: () => number;
}

export function createApp(deps: AppDeps): express.Express {
  const { store, scorer, config } = deps;
  const log = deps.logger ?? pino({ level: config.logLevel });
  const registry = deps.metricsRegistry ?? new Registry();
  const clock = deps.clock ?? Date.now;
  const service = new RiskService({
    store,
    scorer,
    fallback: createFallbackScorer({ store, timezone: config.timezone }),
    config,
    log,
    riskLog: deps.riskLog ?? createRiskLog(store, { log }),
    memory: deps.riskMemory,
    counters: servingMetrics(registry, scorer),
    clock,
  });
  return createHttpApp({
    store,
    model: {
      ready: () => scorer.ready(),
      info: () => scorer.info(),
      isFallback: (i) => i.kind === FALLBACK_MODEL.kind,
    },
    config,
    logger: log,
    mount: (app) => {
      // The core tables go on the app itself, not as nested Routers: that extra dispatch layer cost the HTTP
      // stack 11 % more CPU per /v1/risk request (bench api, constant scorer: 328 vs 294 µs/req, 3 runs each
      // interleaved with the tree before the serving module; mounted directly, 280 vs 284).
      mountServingRoutes(app, { service, clock, log });
      mountCircuitRoutes(app, { store, config: config.circuit, onOpen: deps.onCircuitOpen });
      for (const r of deps.extraRouters ?? []) app.use(r);
    },
    openapi: mergeOpenApi(servingOpenApi(), circuitOpenApi(), deps.openapi ?? {}),
    anonymousOk: deps.anonymousOk,
    metricsRegistry: registry,
    defaultMetrics: deps.defaultMetrics,
  });
}
