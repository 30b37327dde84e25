import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ATTRIBUTIONS, type Attribution } from './ml/model.ts';
import { isValidTimeZone } from './time/zone.ts';
import { DEFAULT_POLICY_CONFIG, DEFAULT_THRESHOLDS } from './policy/index.ts';
import type { PolicyConfig, Thresholds } from './policy/types.ts';
import { DEFAULT_HIGH_RISK_PERIODS, parseWindows } from './policy/windows.ts';
import { DEFAULT_CIRCUIT_SETTINGS, type CircuitSettings } from './policy/circuit.ts';
import { DEFAULT_RETENTION } from './store/retention.ts';
import { BACKGROUND_ENV_VARS } from './config/background.ts';
import { COMMAND_ENV_VARS } from './config/commands.ts';
import { ConfigError } from './config/error.ts';

export { ConfigError };

/**
 * Server configuration, from environment variables only (12-factor). Every variable has a default; a value
 * that is present but invalid throws an error naming the variable, so a typo stops start-up instead of
 * silently running with the default.
 *
 * This file and src/config/ are the only code that reads process.env (test/config/env-reads.test.ts holds
 * the rest of src/ and training/ to it): the server's variables here, the background's (alerts, schedule,
 * promotion) in config/background.ts, the commands' own in config/commands.ts. ENV_VARS lists them all.
 */
export type Scope = 'score' | 'report' | 'admin';
export const SCOPES: readonly Scope[] = ['score', 'report', 'admin'];

export interface ApiKey {
  name: string;
  scopes: Scope[];
  /** sha256 of the bearer token; the token itself is never kept. */
  hash: Buffer;
  /**
   * Tenancy (RISKGATE_KEY_BINDINGS): the canary services (globs, `*` = any run of characters) and repos
   * this key may write. Absent = not bound: any service or repo, each rollout still owned by its first writer.
   */
  services?: string[];
  repos?: string[];
}

export interface Config {
  port: number;
  host: string;
  /** True when no API keys are configured and the server therefore listens on 127.0.0.1 only. */
  localOnly: boolean;
  dataDir: string;
  modelsDir: string;
  timezone: string;
  apiKeys: ApiKey[];
  thresholds: Thresholds;
  policy: PolicyConfig;
  circuit: CircuitSettings;
  rateLimit: { perMinute: number; burst: number };
  /** Failed authentications per client address (IPv6 per /64) before 429; `clock` for tests. */
  authFailures: { perMinute: number; burst: number; clock?: () => number };
  bodyLimitBytes: number;
  metricsAuth: boolean;
  logLevel: string;
  /** How log lines are written (src/log-format.ts): 'auto' is pretty when stdout is a terminal. */
  logFormat: 'json' | 'pretty' | 'auto';
  shutdownGraceMs: number;
  /** HTTP worker processes (node:cluster) sharing the port; 1 serves from this process alone. */
  workers: number;
  /** Prometheus base URL for canary metric queries (optional). */
  prometheusUrl: string | null;
  /** What a canary request may ask of Prometheus. */
  prometheusQueries: PrometheusQueries;
  /** How tree models credit factors unless a request asks otherwise. */
  attribution: Attribution;
  /** Slow or idle clients and connection count (server options set in `startServer`). */
  connections: ConnectionLimits;
  /** WAL content past which commits checkpoint themselves again (src/store/checkpointer.ts). */
  walLimitBytes: number;
  /** Days events and rollout state are kept (src/store/retention.ts); 0 keeps them forever. */
  retention: { eventDays: number; rolloutDays: number };
}

export interface ConnectionLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** The server's variables; `loadConfig` reads exactly these. */
const SERVER_ENV_VARS: Record<string, { default: string; help: string }> = {
  PORT: { default: '8080', help: 'HTTP port' },
  RISKGATE_HOST: { default: '0.0.0.0', help: 'bind address (forced to 127.0.0.1 when no API keys are configured)' },
  RISKGATE_DATA_DIR: { default: 'data/', help: 'folder of the SQLite store (riskgate.db)' },
  RISKGATE_DATABASE_URL: {
    default: '(none)',
    help: 'postgres://user:pass@host:5432/db: use this PostgreSQL database instead of SQLite (several replicas may share it)',
  },
  RISKGATE_MODELS_DIR: { default: 'models/', help: 'model registry folder' },
  RISKGATE_API_KEYS: {
    default: '(none)',
    help: 'comma-separated name:scope+scope:sha256:<hex> (or name:scopes:<raw token>); scopes score, report, admin',
  },
  RISKGATE_KEY_BINDINGS: {
    default: '(none)',
    help: 'what each key may write: "name=service:prod/payments*,repo:acme/payments; name2=…" (services are globs); unbound keys may write any rollout they own',
  },
  RISKGATE_TIMEZONE: { default: 'UTC', help: 'IANA zone for time features, maintenance windows and high-risk periods' },
  RISKGATE_RISK_MEDIUM: { default: '0.3', help: 'probability above which risk is medium' },
  RISKGATE_RISK_HIGH: { default: '0.7', help: 'probability above which risk is high' },
  RISKGATE_MAINTENANCE_WINDOWS: {
    default: '(none)',
    help: 'e.g. "Sat 02:00-04:00, daily 23:30-00:30"; forces the conservative strategy',
  },
  RISKGATE_HIGH_RISK_PERIODS: {
    default: DEFAULT_HIGH_RISK_PERIODS,
    help: 'periods that push one step toward conservative',
  },
  RISKGATE_CIRCUIT_FAILURES: { default: '5', help: 'consecutive failures that open a circuit' },
  RISKGATE_CIRCUIT_COOLDOWN_S: { default: '300', help: 'seconds a circuit stays open before one trial' },
  RISKGATE_RATE_LIMIT: {
    default: '600',
    help: 'requests per minute per API key (per client address without keys), counted per worker process',
  },
  RISKGATE_RATE_BURST: {
    default: '100',
    help: 'requests a key may make at once before the rate applies, per worker process',
  },
  RISKGATE_AUTH_FAILURE_LIMIT: {
    default: '10',
    help: 'wrong keys per minute a client address (IPv6: its /64) may send; past the burst it gets 429 with Retry-After, a right key too, per worker process',
  },
  RISKGATE_AUTH_FAILURE_BURST: {
    default: '20',
    help: 'wrong keys a client address may send at once before RISKGATE_AUTH_FAILURE_LIMIT applies',
  },
  RISKGATE_METRICS_AUTH: { default: 'false', help: 'require an admin key for /metrics' },
  RISKGATE_LOG_LEVEL: { default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace, silent' },
  RISKGATE_LOG_FORMAT: {
    default: 'auto',
    help: 'json (one object a line, epoch-ms times), pretty (local time, level, message, fields), or auto: pretty on a terminal',
  },
  RISKGATE_SHUTDOWN_GRACE_S: { default: '10', help: 'seconds to finish in-flight requests on SIGTERM' },
  RISKGATE_WORKERS: {
    default: '1',
    help: 'HTTP worker processes sharing the port (node:cluster); "auto" = one per CPU. Rate limits then apply per worker',
  },
  RISKGATE_PROMETHEUS_URL: { default: '(none)', help: 'Prometheus base URL for canary metric queries' },
  RISKGATE_HEADERS_TIMEOUT_S: {
    default: '10',
    help: "seconds a connection may take to send a request's headers, including one that sends nothing (answered 408 and closed)",
  },
  RISKGATE_REQUEST_TIMEOUT_S: {
    default: '30',
    help: 'seconds a request may take to arrive in full (headers and body); at least RISKGATE_HEADERS_TIMEOUT_S',
  },
  RISKGATE_KEEPALIVE_TIMEOUT_S: {
    default: '5',
    help: 'seconds an idle keep-alive connection stays open between requests',
  },
  RISKGATE_MAX_CONNECTIONS: {
    default: '1000',
    help: 'open connections per worker process; one more is closed at once (existing ones keep being served)',
  },
  RISKGATE_PROMETHEUS_QUERIES: {
    default: '(none: any PromQL)',
    help: 'named PromQL templates, inline JSON {"name": {"canary": "…{{param}}…", "baseline": "…"}} or a file path; when set, canary requests may only name a template and fill its parameters',
  },
  RISKGATE_PROMETHEUS_MAX_QUERY_METRICS: {
    default: '20',
    help: 'most metrics with a Prometheus query in one canary request (each is two range queries)',
  },
  RISKGATE_PROMETHEUS_MAX_WINDOW_S: {
    default: '3600',
    help: 'longest Prometheus window (prometheus.window_s) a canary request may ask for',
  },
  RISKGATE_PROMETHEUS_SCRAPE_INTERVAL_S: {
    default: '(read from Prometheus)',
    help: "scrape interval of the queried series; range queries take one sample per scrape. Default: the largest scrape_interval in Prometheus's /api/v1/status/config, else 60",
  },
  RISKGATE_WAL_LIMIT_MB: {
    default: '64',
    help: 'SQLite write-ahead log size past which commits checkpoint it themselves until it is back under half; emptied after 1 s without writes',
  },
  RISKGATE_EVENT_RETENTION_DAYS: {
    default: '90',
    help: 'days recorded events (risk checks, canary decisions and their samples, job runs) are kept; 0 = forever. Runs, outcomes and the audit log are never pruned',
  },
  RISKGATE_ROLLOUT_RETENTION_DAYS: {
    default: '30',
    help: "days a rollout's state is kept after its last decision; 0 = forever",
  },
  RISKGATE_ATTRIBUTION: {
    default: 'path',
    help: 'how tree models credit factors: path (Saabas, as cheap as scoring) or treeshap (Shapley values); a request may ask with `attribution`',
  },
};

/**
 * Every variable Riskgate reads, with its default and help: `riskgate serve --help` and the README's
 * configuration table list exactly these (test/api/config.test.ts).
 */
export const ENV_VARS: Record<string, { default: string; help: string }> = {
  ...SERVER_ENV_VARS,
  ...BACKGROUND_ENV_VARS,
  ...COMMAND_ENV_VARS,
};

/** A PromQL pair the operator names; `{{param}}` placeholders are filled from the request's checked `params`. */
export interface PromTemplate {
  canary: string;
  baseline: string;
  params: string[];
}

/**
 * Limits on the upstream work one canary request causes (issue 16.6: 100 caller-written PromQL metrics over
 * a day made 200 range queries, their means returned in the answer). With `templates`, raw PromQL is refused.
 */
export interface PrometheusQueries {
  maxQueryMetrics: number;
  maxWindowS: number;
  /** Prometheus's scrape interval, when set; else read from Prometheus's own configuration. */
  scrapeIntervalS: number | null;
  templates: Map<string, PromTemplate> | null;
}

export const TEMPLATE_PARAM = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** RISKGATE_PROMETHEUS_QUERIES: inline JSON `{"name": {"canary": PromQL, "baseline": PromQL}}`, or the path of such a file. */
export function parsePromTemplates(raw: string, variable = 'RISKGATE_PROMETHEUS_QUERIES'): Map<string, PromTemplate> {
  let text = raw.trim();
  if (!text.startsWith('{')) {
    try {
      text = readFileSync(text, 'utf8');
    } catch (err) {
      throw new ConfigError(variable, `neither inline JSON nor a readable file: ${(err as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(variable, `not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(variable, 'must be a JSON object of named templates');
  const out = new Map<string, PromTemplate>();
  for (const [name, t] of Object.entries(parsed)) {
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(name))
      throw new ConfigError(variable, `template name "${name.slice(0, 40)}" must be 1–128 of A-Z a-z 0-9 _ . : -`);
    const tt = t as { canary?: unknown; baseline?: unknown } | null;
    if (
      !tt ||
      typeof tt !== 'object' ||
      typeof tt.canary !== 'string' ||
      typeof tt.baseline !== 'string' ||
      !tt.canary ||
      !tt.baseline
    )
      throw new ConfigError(variable, `template "${name}" must be {"canary": "<PromQL>", "baseline": "<PromQL>"}`);
    const params = new Set<string>();
    for (const q of [tt.canary, tt.baseline]) {
      if (q.length > 4000) throw new ConfigError(variable, `template "${name}": PromQL longer than 4000 characters`);
      for (const m of q.matchAll(TEMPLATE_PARAM)) params.add(m[1]);
      if (q.replace(TEMPLATE_PARAM, '').includes('{{'))
        throw new ConfigError(variable, `template "${name}": a "{{" that is not a {{param}} placeholder`);
    }
    out.set(name, { canary: tt.canary, baseline: tt.baseline, params: [...params] });
  }
  if (!out.size) throw new ConfigError(variable, 'names no template');
  return out;
}

export function hashApiKey(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

export function parseApiKeys(spec: string, variable = 'RISKGATE_API_KEYS'): ApiKey[] {
  const keys: ApiKey[] = [];
  const names = new Set<string>();
  for (const raw of spec
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64}):([a-z+|]+):(.+)$/.exec(raw);
    if (!m) throw new ConfigError(variable, `entry "${raw.slice(0, 24)}…" is not name:scope+scope:secret`);
    const [, name, scopeList, secret] = m;
    if (names.has(name)) throw new ConfigError(variable, `duplicate key name "${name}"`);
    names.add(name);
    const scopes = scopeList.split(/[+|]/).filter(Boolean);
    for (const s of scopes)
      if (!SCOPES.includes(s as Scope))
        throw new ConfigError(variable, `key "${name}": unknown scope "${s}" (use ${SCOPES.join(', ')})`);
    let hash: Buffer;
    const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
    if (hashed) hash = Buffer.from(hashed[1], 'hex');
    else if (secret.startsWith('sha256:'))
      throw new ConfigError(variable, `key "${name}": sha256 hash must be 64 hex digits`);
    else if (secret.length < 16) throw new ConfigError(variable, `key "${name}": token too short (min 16 characters)`);
    else hash = createHash('sha256').update(secret).digest();
    keys.push({ name, scopes: scopes as Scope[], hash });
  }
  return keys;
}

/**
 * `RISKGATE_KEY_BINDINGS`: `name=service:<glob>,repo:<owner/name or glob>[,…]`, entries separated by `;` or
 * newlines. Binds each named key of `keys` (in place) to the canary services and repos it may write.
 */
export function parseKeyBindings(spec: string, keys: ApiKey[], variable = 'RISKGATE_KEY_BINDINGS'): void {
  for (const raw of spec
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64})\s*=\s*(.+)$/.exec(raw);
    if (!m) throw new ConfigError(variable, `entry "${raw.slice(0, 40)}" is not name=service:<glob>,repo:<owner/name>`);
    const key = keys.find((k) => k.name === m[1]);
    if (!key) throw new ConfigError(variable, `no API key named "${m[1]}" in RISKGATE_API_KEYS`);
    if (key.services || key.repos) throw new ConfigError(variable, `key "${m[1]}" is bound twice`);
    const services: string[] = [];
    const repos: string[] = [];
    for (const target of m[2]
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)) {
      const t = /^(service|repo):([A-Za-z0-9_.:/*-]{1,200})$/.exec(target);
      if (!t)
        throw new ConfigError(
          variable,
          `key "${m[1]}": "${target.slice(0, 40)}" is not service:<glob> or repo:<owner/name>`,
        );
      (t[1] === 'service' ? services : repos).push(t[2]);
    }
    // A key bound only to services writes no repo's history, and the other way round.
    key.services = services;
    key.repos = repos;
  }
}

function num(env: NodeJS.ProcessEnv, name: string, def: number, check: (n: number) => boolean, rule: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(name, `"${raw}" is not ${rule}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `"${env[name]}" is not a boolean (true/false)`);
}

function windows(env: NodeJS.ProcessEnv, name: string, def: string) {
  try {
    return parseWindows(env[name] ?? def);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

const MAX_WORKERS = 256;

function workers(env: NodeJS.ProcessEnv): number {
  const raw = env.RISKGATE_WORKERS?.trim();
  if (raw === undefined || raw === '') return 1;
  if (raw.toLowerCase() === 'auto') return availableParallelism();
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_WORKERS)
    throw new ConfigError('RISKGATE_WORKERS', `"${raw}" is not "auto" or an integer from 1 to ${MAX_WORKERS}`);
  return n;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const int = (n: number) => Number.isInteger(n);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = num(env, 'PORT', 8080, (n) => int(n) && n >= 0 && n <= 65535, 'a port number (0-65535)');
  const apiKeys = parseApiKeys(env.RISKGATE_API_KEYS ?? '');
  parseKeyBindings(env.RISKGATE_KEY_BINDINGS ?? '', apiKeys);
  const timezone = env.RISKGATE_TIMEZONE?.trim() || 'UTC';
  if (!isValidTimeZone(timezone))
    throw new ConfigError('RISKGATE_TIMEZONE', `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  const medium = num(
    env,
    'RISKGATE_RISK_MEDIUM',
    DEFAULT_THRESHOLDS.medium,
    (n) => n >= 0 && n <= 1,
    'a probability in [0, 1]',
  );
  const high = num(
    env,
    'RISKGATE_RISK_HIGH',
    DEFAULT_THRESHOLDS.high,
    (n) => n >= 0 && n <= 1,
    'a probability in [0, 1]',
  );
  if (high < medium) throw new ConfigError('RISKGATE_RISK_HIGH', `${high} is below RISKGATE_RISK_MEDIUM (${medium})`);
  const logLevel = env.RISKGATE_LOG_LEVEL?.trim() || 'info';
  if (!LEVELS.includes(logLevel))
    throw new ConfigError('RISKGATE_LOG_LEVEL', `"${logLevel}" is not one of ${LEVELS.join(', ')}`);
  const logFormat = (env.RISKGATE_LOG_FORMAT?.trim().toLowerCase() || 'auto') as Config['logFormat'];
  if (!['json', 'pretty', 'auto'].includes(logFormat))
    throw new ConfigError('RISKGATE_LOG_FORMAT', `"${env.RISKGATE_LOG_FORMAT}" is not one of json, pretty, auto`);
  const host = env.RISKGATE_HOST?.trim() || '0.0.0.0';
  const localOnly = apiKeys.length === 0;
  const prom = env.RISKGATE_PROMETHEUS_URL?.trim() || null;
  if (prom !== null && !/^https?:\/\/[^\s]+$/.test(prom))
    throw new ConfigError('RISKGATE_PROMETHEUS_URL', `"${prom}" is not an http(s) URL`);
  const templatesRaw = env.RISKGATE_PROMETHEUS_QUERIES?.trim();
  const prometheusQueries: PrometheusQueries = {
    maxQueryMetrics: num(
      env,
      'RISKGATE_PROMETHEUS_MAX_QUERY_METRICS',
      20,
      (n) => int(n) && n >= 1 && n <= 100,
      'an integer from 1 to 100',
    ),
    maxWindowS: num(
      env,
      'RISKGATE_PROMETHEUS_MAX_WINDOW_S',
      3600,
      (n) => int(n) && n >= 1 && n <= 86_400,
      'an integer number of seconds from 1 to 86400',
    ),
    scrapeIntervalS: env.RISKGATE_PROMETHEUS_SCRAPE_INTERVAL_S?.trim()
      ? num(
          env,
          'RISKGATE_PROMETHEUS_SCRAPE_INTERVAL_S',
          0,
          (n) => n > 0 && n <= 3600,
          'a number of seconds in (0, 3600]',
        )
      : null,
    templates: templatesRaw ? parsePromTemplates(templatesRaw) : null,
  };
  const attribution = (env.RISKGATE_ATTRIBUTION?.trim() || 'path') as Attribution;
  if (!ATTRIBUTIONS.includes(attribution))
    throw new ConfigError('RISKGATE_ATTRIBUTION', `"${attribution}" is not one of ${ATTRIBUTIONS.join(', ')}`);
  const headersTimeoutMs =
    1000 * num(env, 'RISKGATE_HEADERS_TIMEOUT_S', 10, (n) => n > 0 && n <= 3600, 'a number of seconds in (0, 3600]');
  const requestTimeoutMs =
    1000 * num(env, 'RISKGATE_REQUEST_TIMEOUT_S', 30, (n) => n > 0 && n <= 3600, 'a number of seconds in (0, 3600]');
  if (requestTimeoutMs < headersTimeoutMs)
    throw new ConfigError(
      'RISKGATE_REQUEST_TIMEOUT_S',
      `${requestTimeoutMs / 1000} is below RISKGATE_HEADERS_TIMEOUT_S (${headersTimeoutMs / 1000})`,
    );
  const connections: ConnectionLimits = {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs:
      1000 * num(env, 'RISKGATE_KEEPALIVE_TIMEOUT_S', 5, (n) => n > 0 && n <= 3600, 'a number of seconds in (0, 3600]'),
    maxConnections: num(env, 'RISKGATE_MAX_CONNECTIONS', 1000, (n) => int(n) && n >= 1, 'an integer ≥ 1'),
  };
  return {
    port,
    host: localOnly ? '127.0.0.1' : host,
    localOnly,
    dataDir: env.RISKGATE_DATA_DIR?.trim() || 'data/',
    modelsDir: env.RISKGATE_MODELS_DIR?.trim() || 'models/',
    timezone,
    apiKeys,
    thresholds: { medium, high },
    policy: {
      ...DEFAULT_POLICY_CONFIG,
      maintenanceWindows: windows(env, 'RISKGATE_MAINTENANCE_WINDOWS', ''),
      highRiskPeriods: windows(env, 'RISKGATE_HIGH_RISK_PERIODS', DEFAULT_HIGH_RISK_PERIODS),
    },
    circuit: {
      failureThreshold: num(
        env,
        'RISKGATE_CIRCUIT_FAILURES',
        DEFAULT_CIRCUIT_SETTINGS.failureThreshold,
        (n) => int(n) && n >= 1,
        'an integer ≥ 1',
      ),
      cooldownMs:
        1000 *
        num(
          env,
          'RISKGATE_CIRCUIT_COOLDOWN_S',
          DEFAULT_CIRCUIT_SETTINGS.cooldownMs / 1000,
          (n) => n >= 0,
          'a number of seconds ≥ 0',
        ),
    },
    rateLimit: {
      perMinute: num(env, 'RISKGATE_RATE_LIMIT', 600, (n) => n > 0, 'a positive number of requests per minute'),
      burst: num(env, 'RISKGATE_RATE_BURST', 100, (n) => int(n) && n >= 1, 'an integer ≥ 1'),
    },
    authFailures: {
      perMinute: num(env, 'RISKGATE_AUTH_FAILURE_LIMIT', 10, (n) => n > 0, 'a positive number of failures per minute'),
      burst: num(env, 'RISKGATE_AUTH_FAILURE_BURST', 20, (n) => int(n) && n >= 1, 'an integer ≥ 1'),
    },
    bodyLimitBytes: 1024 * 1024,
    metricsAuth: bool(env, 'RISKGATE_METRICS_AUTH', false),
    logLevel,
    logFormat,
    shutdownGraceMs: 1000 * num(env, 'RISKGATE_SHUTDOWN_GRACE_S', 10, (n) => n >= 0, 'a number of seconds ≥ 0'),
    workers: workers(env),
    prometheusUrl: prom,
    prometheusQueries,
    attribution,
    connections,
    retention: {
      eventDays: num(
        env,
        'RISKGATE_EVENT_RETENTION_DAYS',
        DEFAULT_RETENTION.eventDays,
        (n) => n >= 0 && n <= 36_500,
        'a number of days from 0 (keep forever) to 36500',
      ),
      rolloutDays: num(
        env,
        'RISKGATE_ROLLOUT_RETENTION_DAYS',
        DEFAULT_RETENTION.rolloutDays,
        (n) => n >= 0 && n <= 36_500,
        'a number of days from 0 (keep forever) to 36500',
      ),
    },
    walLimitBytes: Math.round(
      1024 *
        1024 *
        num(env, 'RISKGATE_WAL_LIMIT_MB', 64, (n) => n >= 1 && n <= 65536, 'a number of MiB from 1 to 65536'),
    ),
  };
}
