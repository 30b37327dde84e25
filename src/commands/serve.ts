import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Router } from 'express';
import { pino, type Logger } from 'pino';
import { createApp } from '../api/app.ts';
import { requireScope } from '../api/auth.ts';
import { RiskMemory } from '../api/risk-memory.ts';
import type { OpenApiExtras } from '../api/openapi.ts';
import { DeferredScorer } from '../api/scorer.ts';
import type { RiskScorer } from '../api/types.ts';
import { ConfigError, ENV_VARS, hashApiKey, loadConfig, type Config } from '../config.ts';
import { createFallbackScorer } from '../policy/fallback.ts';
import { openStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import type { ModelScorerOptions } from '../registry/scorer.ts';

export const summary = 'Run the risk service (HTTP API for CI pipelines)';
export const help = `Usage: riskgate serve [--port N] [--no-bootstrap]
       riskgate serve --hash-key TOKEN

Serves POST /v1/risk, /v1/outcomes, /v1/circuits/{name}, /health, /live, /ready, /metrics and /openapi.json.
Answers /live at once; /ready turns 200 once the champion model (or the rule-based fallback) is loaded.
If the registry is empty, a first model is trained from the stored history (or the bundled sample
history when the store is empty) unless --no-bootstrap is given.

Configuration is by environment variable:
${Object.entries(ENV_VARS)
  .map(([k, v]) => `  ${k.padEnd(30)} ${v.help} (default ${v.default})`)
  .join('\n')}

--hash-key TOKEN prints the sha256 form to put in RISKGATE_API_KEYS, so the token itself is never stored.

Examples:
  PORT=9000 riskgate serve
  RISKGATE_API_KEYS="ci:score+report:sha256:<hex>,ops:admin+score+report:sha256:<hex>" riskgate serve
  riskgate serve --hash-key "$(openssl rand -hex 24)"`;

export interface RunningServer {
  server: Server;
  url: string;
  store: Store;
  scorer: DeferredScorer;
  /** Resolves once a model (or the fallback) is serving. */
  loaded: Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the store. */
  shutdown(): Promise<void>;
}

// Optional sibling modules are imported by URL so a missing one is a runtime branch, not a compile error.
const optional = (rel: string) => new URL(rel, import.meta.url);
const moduleExists = (rel: string) => existsSync(fileURLToPath(optional(rel)));

/** The canary router, when that module is present: mounted with the `score` scope on its paths. */
async function canaryExtras(deps: { store: Store; log: Logger; memory: RiskMemory; prometheusUrl: string | null }): Promise<{ routers: Router[]; openapi: OpenApiExtras }> {
  const routers: Router[] = [];
  const openapi: OpenApiExtras = {};
  if (moduleExists('../canary/router.ts')) {
    try {
      const mod = (await import(optional('../canary/router.ts').href)) as { createCanaryRouter?: (d: unknown) => Router };
      // The canary router applies requireScope itself (score for decisions, report for outcomes).
      if (mod.createCanaryRouter) {
        routers.push(
          mod.createCanaryRouter({
            store: deps.store,
            log: deps.log,
            riskLookup: async (repo: string, sha: string) => deps.memory.lookup(repo, sha),
            prometheusUrl: deps.prometheusUrl ?? undefined,
          }),
        );
      }
    } catch (err) {
      deps.log.error({ err }, 'canary router failed to load; /v1/canary is not served');
    }
  }
  if (moduleExists('../canary/schemas.ts')) {
    try {
      const mod = (await import(optional('../canary/schemas.ts').href)) as Record<string, unknown>;
      const { z } = await import('zod');
      openapi.schemas = {};
      for (const [name, v] of Object.entries(mod)) {
        const base = name.replace(/Schema$/, '');
        if (v instanceof z.ZodType) openapi.schemas[base.startsWith('Canary') ? base : `Canary${base}`] = v;
      }
      if (mod.openApiPaths && typeof mod.openApiPaths === 'object') openapi.paths = mod.openApiPaths as Record<string, unknown>;
    } catch (err) {
      deps.log.warn({ err }, 'canary schemas failed to load; left out of /openapi.json');
    }
  }
  return { routers, openapi };
}

/** Model management (/v1/models…, admin) and the dashboard, when those modules are present; they apply their scopes. */
async function otherRouters(deps: { store: Store; config: Config; log: Logger; reload: () => Promise<boolean> }): Promise<Router[]> {
  const routers: Router[] = [];
  if (moduleExists('../registry/router.ts')) {
    try {
      const mod = (await import(optional('../registry/router.ts').href)) as { createModelsRouter?: (d: unknown) => Router };
      if (mod.createModelsRouter) routers.push(mod.createModelsRouter({ store: deps.store, modelsDir: deps.config.modelsDir, scorer: { reload: deps.reload }, requireScope }));
    } catch (err) {
      deps.log.error({ err }, 'models router failed to load; /v1/models is not served');
    }
  }
  if (moduleExists('../dashboard/router.ts')) {
    try {
      const mod = (await import(optional('../dashboard/router.ts').href)) as { createDashboardRouter?: (d: unknown) => Router };
      if (mod.createDashboardRouter) {
        routers.push(
          mod.createDashboardRouter({ store: deps.store, modelsDir: deps.config.modelsDir, requireScope, authRequired: !deps.config.localOnly, timezone: deps.config.timezone }),
        );
      }
    } catch (err) {
      deps.log.error({ err }, 'dashboard failed to load; / is not served');
    }
  }
  return routers;
}

/** Loads the champion (bootstrapping one if needed) without blocking the listener; any failure ends in the fallback. */
async function loadScorer(o: { store: Store; config: Config; log: Logger; bootstrap: boolean; fallback: RiskScorer }): Promise<RiskScorer & { close?(): void }> {
  const { store, config, log } = o;
  if (o.bootstrap) {
    try {
      const bootstrap = await import('../../training/bootstrap.ts');
      const how = await bootstrap.ensureChampion({ store, modelsDir: config.modelsDir, timezone: config.timezone, log });
      log.info({ how }, 'champion model available');
    } catch (err) {
      log.warn({ err }, 'could not bootstrap a champion model; serving the rule-based fallback');
    }
  }
  try {
    const mod = await import('../registry/scorer.ts');
    const scorer = await mod.createModelScorer({ store, modelsDir: config.modelsDir, timezone: config.timezone, log, fallback: o.fallback as ModelScorerOptions['fallback'] });
    if (!scorer.info()) log.warn('no champion model in the registry; answering with the rule-based fallback (degraded)');
    return scorer;
  } catch (err) {
    log.warn({ err }, 'model scorer unavailable; answering with the rule-based fallback (degraded)');
    return o.fallback;
  }
}

export interface StartOptions {
  bootstrap?: boolean;
  logger?: Logger;
  /** Use this store instead of opening data/riskgate.db (left open on shutdown). */
  store?: Store;
  /** Serve this scorer instead of loading the registry's champion (tests, benchmarks). */
  scorer?: RiskScorer;
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: config.logLevel });
  const store = opts.store ?? openStore(join(config.dataDir, 'riskgate.db'));
  const scorer = new DeferredScorer();
  const riskMemory = new RiskMemory();
  const extras = await canaryExtras({ store, log, memory: riskMemory, prometheusUrl: config.prometheusUrl });
  let loadedScorer: (RiskScorer & { close?(): void; reload?(): Promise<boolean> }) | null = null;
  const others = await otherRouters({
    store,
    config,
    log,
    reload: () => loadedScorer?.reload?.() ?? Promise.resolve(false),
  });
  const app = createApp({
    store,
    scorer,
    config,
    logger: log,
    extraRouters: [...extras.routers, ...others],
    openapi: extras.openapi,
    riskMemory,
    anonymousOk: (p) => p === '/' || p === '/ui' || p.startsWith('/ui/'),
    defaultMetrics: true,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url }, 'listening');
  if (config.localOnly) log.warn('no API keys configured (RISKGATE_API_KEYS): listening on 127.0.0.1 only, without authentication');

  const fallback = createFallbackScorer({ store, timezone: config.timezone });
  const source = opts.scorer ? Promise.resolve(opts.scorer) : loadScorer({ store, config, log, bootstrap: opts.bootstrap ?? true, fallback });
  const loaded = source.then((s) => {
    loadedScorer = s;
    scorer.set(s);
    log.info({ model: s.info() }, 'ready');
  });

  let closing: Promise<void> | null = null;
  const shutdown = () =>
    (closing ??= new Promise<void>((resolve) => {
      log.info({ grace_ms: config.shutdownGraceMs }, 'shutting down: no new connections, finishing in-flight requests');
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      force.unref();
      // Keep-alive sockets turn idle as their last response finishes; close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      sweep.unref();
      server.close(() => {
        clearTimeout(force);
        clearInterval(sweep);
        loaded
          .catch(() => undefined)
          .finally(() => {
            loadedScorer?.close?.();
            if (!opts.store) store.close();
            log.info('stopped');
            resolve();
          });
      });
      // Idle keep-alive sockets would otherwise hold close() open until they time out.
      server.closeIdleConnections();
    }));

  return { server, url, store, scorer, loaded, shutdown };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, 'no-bootstrap': { type: 'boolean' }, 'hash-key': { type: 'string' } },
  });
  if (values['hash-key'] !== undefined) {
    console.log(hashApiKey(values['hash-key']));
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig(values.port !== undefined ? { ...process.env, PORT: values.port } : process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`riskgate serve: invalid configuration: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const running = await startServer(config, { bootstrap: !values['no-bootstrap'] });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`riskgate serve: ${signal} received\n`);
      void running.shutdown().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
