import cluster, { type Worker } from 'node:cluster';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import { pino, type Logger } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import type { Alerter } from '../alerts/alerter.ts';
import { requireScope } from '../api/auth.ts';
import { mergeOpenApi, type OpenApiExtras } from '../api/openapi.ts';
import { createApp } from '../app.ts';
import { ConfigError, ENV_VARS, hashApiKey, loadConfig, type Config } from '../config.ts';
import { startRegistrySync } from '../registry/db-sync.ts';
import { composeScorer, type ServingScorer } from '../serving/chain.ts';
import { DeferredScorer } from '../serving/deferred.ts';
import { createFallbackScorer } from '../serving/fallback-scorer.ts';
import { createRiskLog } from '../serving/risk-log.ts';
import { isRiskShare, RiskMemory, SharedRiskMemory } from '../serving/risk-memory.ts';
import type { Scorer } from '../serving/types.ts';
import type { EventLog } from '../store/event-log.ts';
import { openStoreAt, storeLocation } from '../store/open.ts';
import { startRetention, type Retention } from '../store/retention.ts';
import type { Store } from '../store/types.ts';
import { canaryOpenApi, createCanaryRouter, isFlaggerHookPath } from '../canary/router.ts';
import { createInputsLog } from '../canary/service.ts';
import { createModelsRouter, modelsOpenApi, type ModelsRouterDeps } from '../registry/router.ts';
import { createReportRouter, reportOpenApi } from '../report/router.ts';
import { createDashboardRouter } from '../dashboard/router.ts';
import type { DriftMonitor } from '../registry/drift.ts';
import { logDestination } from '../log-format.ts';
import { parseCommandArgs } from './args.ts';
import { backgroundSettings, type BackgroundSettings } from '../config/background.ts';
import { environmentWith } from '../config/commands.ts';
import { createBackground } from './background.ts';

export const summary = 'Run the risk service (HTTP API for CI pipelines)';
export const help = `Usage: riskgate serve [--port N] [--workers N|auto] [--no-bootstrap]
       riskgate serve --hash-key TOKEN

Serves POST /v1/risk, /v1/outcomes, /v1/circuits/{name}, /health, /live, /ready, /metrics and /openapi.json.
Answers /live at once; /ready turns 200 once the champion model (or the rule-based fallback) is loaded.
If the registry is empty, a first model is trained from the stored history (or the bundled sample
history when the store is empty) unless --no-bootstrap is given.

Beside the API it runs the scheduler (node-cron: ingest from GitHub when GITHUB_TOKEN and RISKGATE_REPOS
are set, weekly retrain with champion/challenger, daily evaluation; training in a child process), shadow
scoring of a challenger on trial, drift tracking and webhook alerts. \`riskgate worker\` runs the same
scheduler on its own for deployments that split serving from training.

--workers N (or RISKGATE_WORKERS) runs N HTTP worker processes on the same port (node:cluster; "auto" =
one per CPU). The primary migrates the store and trains the first model once before forking, forwards
SIGTERM/SIGINT to the workers and replaces a worker that crashes. Workers share the SQLite store and the
model registry; rate limits are counted per worker, so a key may make up to N times RISKGATE_RATE_LIMIT.

Configuration is by environment variable:
${Object.entries(ENV_VARS)
  .map(([k, v]) => `  ${k.padEnd(33)} ${v.help} (default ${v.default})`)
  .join('\n')}

--hash-key TOKEN prints the sha256 form to put in RISKGATE_API_KEYS, so the token itself is never stored.

Examples:
  PORT=9000 riskgate serve
  riskgate serve --workers auto
  RISKGATE_API_KEYS="ci:score+report:sha256:<hex>,ops:admin+score+report:sha256:<hex>" riskgate serve
  riskgate serve --hash-key "$(openssl rand -hex 24)"`;

/** pino at the configured level; a readable line per entry when RISKGATE_LOG_FORMAT (default: on a terminal) says so. */
function makeLogger(config: Config): Logger {
  const dest = logDestination(config.logFormat);
  return dest ? pino({ level: config.logLevel }, dest) : pino({ level: config.logLevel });
}

export interface RunningServer {
  server: Server;
  url: string;
  store: Store;
  scorer: DeferredScorer;
  /** Resolves once a model (or the fallback) is serving. */
  loaded: Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the store. */
  shutdown(): Promise<void>;
  /** Hourly pruning of old events and rollout state; null in a cluster worker (the primary prunes). */
  retention: Retention | null;
}

/**
 * The OpenAPI contributions of every router mounted beyond the core API (src/app.ts adds serving's and the
 * circuits'): each router module documents its own routes (and, for the canary, its schemas as components)
 * from its route table; this only merges them. The dashboard (`/`, `/ui/...`, `/ui/api/*`) is deliberately
 * left out: its data calls are the page's internal API (the document's description says so).
 */
export const routersOpenApi = (): OpenApiExtras => mergeOpenApi(canaryOpenApi(), modelsOpenApi(), reportOpenApi());

/** Every router beyond the core API; each applies its own scopes. */
function routers(d: {
  store: Store;
  config: Config;
  log: Logger;
  memory: RiskMemory;
  reload: () => Promise<boolean>;
  alerter?: Alerter;
  drift?: DriftMonitor;
  canaryInputs?: EventLog;
  cron: ModelsRouterDeps['cron'];
}): Router[] {
  const { store, config, log } = d;
  return [
    createCanaryRouter({
      store,
      log,
      apiKeys: config.apiKeys,
      riskLookup: async (repo: string, sha: string) => d.memory.lookup(repo, sha),
      prometheusUrl: config.prometheusUrl ?? undefined,
      prometheusQueries: config.prometheusQueries,
      inputsLog: d.canaryInputs,
      onDecision: ({ deployment, response }) => {
        if (response.action !== 'rollback') return;
        d.alerter?.alert({
          kind: 'canary_rollback',
          repo: deployment.repo ?? null,
          head_sha: deployment.head_sha ?? null,
          score: response.risk,
          message: `Canary ${deployment.service} ${deployment.version} rolled back: ${response.reasons.join('; ')}`,
          detail: { service: deployment.service, version: deployment.version },
        });
      },
    }),
    createModelsRouter({
      store,
      modelsDir: config.modelsDir,
      scorer: { reload: d.reload },
      requireScope,
      drift: d.drift,
      cron: d.cron,
    }),
    createReportRouter({ store, requireScope }),
    createDashboardRouter({
      store,
      modelsDir: config.modelsDir,
      requireScope,
      authRequired: !config.localOnly,
      timezone: config.timezone,
      cron: d.cron,
    }),
  ];
}

export interface StartOptions {
  bootstrap?: boolean;
  logger?: Logger;
  /** Use this store instead of opening data/riskgate.db (left open on shutdown). */
  store?: Store;
  /** Serve this scorer instead of loading the registry's champion (tests, benchmarks). */
  scorer?: Scorer;
  /** Run the cron schedule (ingest, retrain, evaluate) in this process; `riskgate serve` does unless clustered. */
  schedule?: boolean;
  /** Alerts, scheduler and drift settings (default: read from the environment). */
  background?: BackgroundSettings;
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? makeLogger(config);
  // Listen first: a port that is taken (a second `npm start`) must fail before this process opens the store,
  // starts the scheduler or takes a job lock, which a stray process then held while /v1/jobs named it owner.
  // Requests cannot arrive before the app is attached: everything from here to that runs synchronously.
  const server = await new Promise<Server>((resolve, reject) => {
    const c = config.connections;
    // Node's defaults (60 s for headers, 300 s per request, checked every 30 s, no connection cap) let 21,000
    // connections that never sent a byte hold 19,151 file descriptors. A connection that sends nothing now
    // gets 408 and is closed after headersTimeout; the check runs every second (a walk over the open
    // connections) so that bound is what an operator configured, not 30 s more. Past maxConnections a new
    // socket is closed at once, so an existing connection (a probe's, a pipeline's) keeps being served.
    const s = createServer({
      headersTimeout: c.headersTimeoutMs,
      requestTimeout: c.requestTimeoutMs,
      keepAliveTimeout: c.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, c.headersTimeoutMs),
    });
    s.maxConnections = c.maxConnections;
    s.once('error', reject);
    s.listen(config.port, config.host, () => (s.off('error', reject), resolve(s)));
  });
  const location = storeLocation(config.dataDir);
  const store =
    opts.store ??
    openStoreAt(location, {
      backgroundCheckpoint: true,
      checkpoint: { walLimitBytes: config.walLimitBytes },
      onCheckpointError: (message) => log.warn({ message }, 'WAL checkpointer'),
    });
  const scorer = new DeferredScorer();
  const riskMemory = cluster.isWorker ? new SharedRiskMemory() : new RiskMemory();
  const metricsRegistry = new PromRegistry();
  const riskLog = createRiskLog(store, { log });
  const canaryInputs = createInputsLog(store, log);
  const settings = opts.background ?? backgroundSettings();
  const background = createBackground({
    store,
    dbPath: location,
    modelsDir: config.modelsDir,
    settings,
    log,
    metrics: metricsRegistry,
  });
  let loadedScorer: ServingScorer | null = null;
  const reload = () => loadedScorer?.reload?.() ?? Promise.resolve(false);
  const app = createApp({
    store,
    scorer,
    config,
    logger: log,
    extraRouters: routers({
      store,
      config,
      log,
      memory: riskMemory,
      reload,
      alerter: background.alerter,
      drift: background.drift,
      canaryInputs,
      cron: settings.scheduler.cron,
    }),
    openapi: routersOpenApi(),
    riskMemory,
    // Flagger hooks carry their key in the body (Flagger cannot send headers); the canary router checks it.
    anonymousOk: (p) => p === '/' || p === '/ui' || p.startsWith('/ui/') || isFlaggerHookPath(p),
    defaultMetrics: true,
    metricsRegistry,
    riskLog,
    onCircuitOpen: (c) =>
      background.alerter.alert({
        kind: 'circuit_open',
        message: `Circuit "${c.name}" opened after ${c.consecutive_failures} consecutive failures.`,
        detail: { circuit: c.name, cooldown_ms: c.cooldown_ms },
      }),
  });
  // PostgreSQL: models come from the database (no shared volume); in a cluster the primary syncs for its workers.
  const registrySync = cluster.isWorker
    ? null
    : startRegistrySync({ store, modelsDir: config.modelsDir, log, onChampionChanged: () => void reload() });
  const retention = cluster.isWorker ? null : startRetention(store, config.retention, { log });

  // In a cluster, responses name the worker that served them (tests and operators see the spread).
  const pid = String(process.pid);
  const handler: RequestListener = cluster.isWorker
    ? (req, res) => (res.setHeader('X-Riskgate-Worker', pid), app(req, res))
    : app;
  server.on('request', handler);
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url }, 'listening');
  if (opts.schedule) background.startSchedule(() => void reload());
  if (config.localOnly)
    log.warn('no API keys configured (RISKGATE_API_KEYS): listening on 127.0.0.1 only, without authentication');

  const fallback = createFallbackScorer({ store, timezone: config.timezone });
  const source = opts.scorer
    ? Promise.resolve(opts.scorer)
    : composeScorer({
        store,
        config,
        log,
        bootstrap: opts.bootstrap ?? true,
        fallback,
        live: { drift: background.drift, alerter: background.alerter, minAlertScore: background.minAlertScore },
        onRefused: (id) =>
          background.alerter.alert({
            kind: 'model_refused',
            message: `Champion model ${id} failed verification (artifact sha256 or manifest) and was refused. Serving the rule-based fallback (degraded); nothing was trained or promoted in its place. Restore the file, or roll back / promote a version by hand.`,
            detail: { model: id },
          }),
      });
  const loaded = source.then((s) => {
    loadedScorer = s;
    scorer.set(s);
    log.info({ model: s.info() }, 'ready');
  });

  let closing: Promise<void> | null = null;
  const shutdown = () =>
    (closing ??= new Promise<void>((resolve) => {
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
          .finally(async () => {
            registrySync?.stop();
            retention?.stop();
            riskLog.close();
            canaryInputs.close();
            await background.close();
            loadedScorer?.close?.();
            if (!opts.store) store.close();
            log.info('stopped');
            resolve();
          });
      });
      // Idle keep-alive sockets would otherwise hold close() open until they time out.
      server.closeIdleConnections();
      // Logged once the listener is closed, so the line is true when read: a client that connects after
      // seeing it is refused (logged before close(), a connection could still land in the accept backlog
      // in between and be reset instead; the SIGTERM test saw ECONNRESET once in ~5 full runs).
      log.info({ grace_ms: config.shutdownGraceMs }, 'shutting down: no new connections, finishing in-flight requests');
    }));

  return { server, url, store, scorer, loaded, shutdown, retention };
}

/**
 * The cluster primary: prepares the store and the first model once, then only supervises. Workers are
 * `riskgate serve` again (same argv), so each runs startServer on the shared port.
 */
async function runPrimary(config: Config, bootstrap: boolean, settings: BackgroundSettings): Promise<number> {
  const log = makeLogger(config).child({ role: 'primary' });
  // Opening the store runs its migrations here, before any worker could race on them.
  const dbPath = storeLocation(config.dataDir);
  const store = openStoreAt(dbPath);
  const registrySync = startRegistrySync({ store, modelsDir: config.modelsDir, log });
  try {
    if (bootstrap) {
      const { ensureChampion } = await import('../../training/bootstrap.ts');
      const how = await ensureChampion({ store, modelsDir: config.modelsDir, timezone: config.timezone, log });
      log.info({ how }, 'champion model available');
    }
  } catch (err) {
    log.warn({ err }, 'could not bootstrap a champion model; workers serve the rule-based fallback');
  }
  // The schedule runs here, once for the whole cluster; workers pick up a new champion by their registry poll.
  // It starts with the first worker that listens: a cluster whose port is taken must stop before it runs a
  // job or takes a job lock (issue 17.2), as a single server does.
  const background = createBackground({ store, dbPath, modelsDir: config.modelsDir, settings, log });
  let retention: ReturnType<typeof startRetention> | null = null;
  const startBackground = () => {
    if (retention || stopping) return;
    background.startSchedule();
    retention = startRetention(store, config.retention, { log });
  };

  const live = new Set<Worker>();
  const listening = new WeakSet<Worker>();
  let stopping = false;
  let failed = false;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const fork = () => {
    if (stopping) return;
    const w = cluster.fork();
    // An IPC write to a worker that just died fails with EPIPE; unhandled, that would take the primary down too.
    w.on('error', (err) => log.warn({ pid: w.process.pid, err: err.message }, 'worker channel error'));
    live.add(w);
  };
  cluster.on('listening', (w) => {
    listening.add(w);
    startBackground();
  });
  cluster.on('message', (from, m: unknown) => {
    if (!isRiskShare(m)) return;
    for (const w of live) if (w !== from && w.isConnected()) w.send(m);
  });
  cluster.on('exit', (w, code, signal) => {
    live.delete(w);
    const crashed = code !== 0 || signal !== null;
    if (stopping) failed ||= crashed;
    else if (crashed && !listening.has(w)) {
      // It could not even start (port taken, store unreadable): re-forking would only repeat that.
      log.error({ pid: w.process.pid, code, signal }, 'worker failed to start; stopping the cluster');
      failed = true;
      stop('SIGTERM');
    } else if (crashed) {
      log.error({ pid: w.process.pid, code, signal }, 'worker died; starting a new one');
      fork();
      return;
    } else log.warn({ pid: w.process.pid }, 'worker exited on its own; not replaced');
    if (live.size === 0) done();
  });
  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: live.size }, 'stopping workers');
    if (live.size === 0) return done();
    for (const w of live) w.process.kill(signal);
    // Workers force their connections closed after the grace period; this only catches a wedged one.
    setTimeout(() => {
      failed = true;
      for (const w of live) w.process.kill('SIGKILL');
    }, config.shutdownGraceMs + 5000).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers, port: config.port }, 'cluster started');
  await finished;
  (retention as ReturnType<typeof startRetention> | null)?.stop();
  await background.close();
  registrySync?.stop();
  store.close();
  log.info('stopped');
  return failed ? 1 : 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    options: {
      port: { type: 'string' },
      workers: { type: 'string' },
      'no-bootstrap': { type: 'boolean' },
      'hash-key': { type: 'string' },
    },
  });
  if (values['hash-key'] !== undefined) {
    console.log(hashApiKey(values['hash-key']));
    return 0;
  }
  let config: Config;
  let settings: BackgroundSettings;
  try {
    const env = environmentWith({ PORT: values.port, RISKGATE_WORKERS: values.workers });
    config = loadConfig(env);
    settings = backgroundSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`riskgate serve: invalid configuration: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const bootstrap = !values['no-bootstrap'];
  if (cluster.isPrimary && config.workers > 1) return runPrimary(config, bootstrap, settings);
  // A worker never bootstraps nor runs the schedule: the primary does both, once.
  let running: RunningServer;
  try {
    running = await startServer(config, {
      bootstrap: bootstrap && cluster.isPrimary,
      schedule: cluster.isPrimary,
      background: settings,
    });
  } catch (err) {
    // The IPC channel to the primary would keep a worker alive after its server has closed (or never opened).
    cluster.worker?.disconnect();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const why =
        code === 'EADDRINUSE'
          ? 'the port is in use (another riskgate serve?); set PORT or --port'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : 'no such local address (RISKGATE_HOST)';
      console.error(`riskgate serve: cannot listen on ${config.host}:${config.port}: ${why}`);
      return 1;
    }
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`riskgate serve: ${signal} received\n`);
      void running.shutdown().then(resolve);
    };
    // A worker keeps its handlers: a Ctrl-C reaches it from the terminal and again from the primary.
    const on = cluster.isWorker ? 'on' : 'once';
    process[on]('SIGTERM', () => stop('SIGTERM'));
    process[on]('SIGINT', () => stop('SIGINT'));
  });
  cluster.worker?.disconnect();
  return 0;
}
