import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ATTRIBUTIONS, type Attribution } from './ml/model.ts';
import { isValidTimeZone } from './features/calendar.ts';
import { DEFAULT_POLICY_CONFIG, DEFAULT_THRESHOLDS } from './policy/index.ts';
import type { PolicyConfig, Thresholds } from './policy/types.ts';
import { DEFAULT_HIGH_RISK_PERIODS, parseWindows } from './policy/windows.ts';
import { DEFAULT_CIRCUIT_SETTINGS, type CircuitSettings } from './policy/circuit.ts';

/**
 * Server configuration, from environment variables only (12-factor). Every variable has a default; a value
 * that is present but invalid throws an error naming the variable, so a typo stops start-up instead of
 * silently running with the default.
 */
export type Scope = 'score' | 'report' | 'admin';
export const SCOPES: readonly Scope[] = ['score', 'report', 'admin'];

export interface ApiKey {
  name: string;
  scopes: Scope[];
  /** sha256 of the bearer token; the token itself is never kept. */
  hash: Buffer;
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
  /** How tree models credit factors unless a request asks otherwise. */
  attribution: Attribution;
}

/** Documented in the README; `loadConfig` reads exactly these. */
export const ENV_VARS: Record<string, { default: string; help: string }> = {
  PORT: { default: '8080', help: 'HTTP port' },
  RISKGATE_HOST: { default: '0.0.0.0', help: 'bind address (forced to 127.0.0.1 when no API keys are configured)' },
  RISKGATE_DATA_DIR: { default: 'data/', help: 'folder of the SQLite store (riskgate.db)' },
  RISKGATE_MODELS_DIR: { default: 'models/', help: 'model registry folder' },
  RISKGATE_API_KEYS: { default: '(none)', help: 'comma-separated name:scope+scope:sha256:<hex> (or name:scopes:<raw token>); scopes score, report, admin' },
  RISKGATE_TIMEZONE: { default: 'UTC', help: 'IANA zone for time features, maintenance windows and high-risk periods' },
  RISKGATE_RISK_MEDIUM: { default: '0.3', help: 'probability above which risk is medium' },
  RISKGATE_RISK_HIGH: { default: '0.7', help: 'probability above which risk is high' },
  RISKGATE_MAINTENANCE_WINDOWS: { default: '(none)', help: 'e.g. "Sat 02:00-04:00, daily 23:30-00:30"; forces the conservative strategy' },
  RISKGATE_HIGH_RISK_PERIODS: { default: DEFAULT_HIGH_RISK_PERIODS, help: 'periods that push one step toward conservative' },
  RISKGATE_CIRCUIT_FAILURES: { default: '5', help: 'consecutive failures that open a circuit' },
  RISKGATE_CIRCUIT_COOLDOWN_S: { default: '300', help: 'seconds a circuit stays open before one trial' },
  RISKGATE_RATE_LIMIT: { default: '600', help: 'requests per minute per API key (per client address without keys), counted per worker process' },
  RISKGATE_RATE_BURST: { default: '100', help: 'requests a key may make at once before the rate applies, per worker process' },
  RISKGATE_METRICS_AUTH: { default: 'false', help: 'require an admin key for /metrics' },
  RISKGATE_LOG_LEVEL: { default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace, silent' },
  RISKGATE_LOG_FORMAT: { default: 'auto', help: 'json (one object a line, epoch-ms times), pretty (local time, level, message, fields), or auto: pretty on a terminal' },
  RISKGATE_SHUTDOWN_GRACE_S: { default: '10', help: 'seconds to finish in-flight requests on SIGTERM' },
  RISKGATE_WORKERS: { default: '1', help: 'HTTP worker processes sharing the port (node:cluster); "auto" = one per CPU. Rate limits then apply per worker' },
  RISKGATE_PROMETHEUS_URL: { default: '(none)', help: 'Prometheus base URL for canary metric queries' },
  RISKGATE_ATTRIBUTION: { default: 'path', help: 'how tree models credit factors: path (Saabas, as cheap as scoring) or treeshap (Shapley values); a request may ask with `attribution`' },
};

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function hashApiKey(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

export function parseApiKeys(spec: string, variable = 'RISKGATE_API_KEYS'): ApiKey[] {
  const keys: ApiKey[] = [];
  const names = new Set<string>();
  for (const raw of spec.split(/[,\n]/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64}):([a-z+|]+):(.+)$/.exec(raw);
    if (!m) throw new ConfigError(variable, `entry "${raw.slice(0, 24)}…" is not name:scope+scope:secret`);
    const [, name, scopeList, secret] = m;
    if (names.has(name)) throw new ConfigError(variable, `duplicate key name "${name}"`);
    names.add(name);
    const scopes = scopeList.split(/[+|]/).filter(Boolean);
    for (const s of scopes) if (!SCOPES.includes(s as Scope)) throw new ConfigError(variable, `key "${name}": unknown scope "${s}" (use ${SCOPES.join(', ')})`);
    let hash: Buffer;
    const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
    if (hashed) hash = Buffer.from(hashed[1], 'hex');
    else if (secret.startsWith('sha256:')) throw new ConfigError(variable, `key "${name}": sha256 hash must be 64 hex digits`);
    else if (secret.length < 16) throw new ConfigError(variable, `key "${name}": token too short (min 16 characters)`);
    else hash = createHash('sha256').update(secret).digest();
    keys.push({ name, scopes: scopes as Scope[], hash });
  }
  return keys;
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
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_WORKERS) throw new ConfigError('RISKGATE_WORKERS', `"${raw}" is not "auto" or an integer from 1 to ${MAX_WORKERS}`);
  return n;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const int = (n: number) => Number.isInteger(n);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = num(env, 'PORT', 8080, (n) => int(n) && n >= 0 && n <= 65535, 'a port number (0-65535)');
  const apiKeys = parseApiKeys(env.RISKGATE_API_KEYS ?? '');
  const timezone = env.RISKGATE_TIMEZONE?.trim() || 'UTC';
  if (!isValidTimeZone(timezone)) throw new ConfigError('RISKGATE_TIMEZONE', `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  const medium = num(env, 'RISKGATE_RISK_MEDIUM', DEFAULT_THRESHOLDS.medium, (n) => n >= 0 && n <= 1, 'a probability in [0, 1]');
  const high = num(env, 'RISKGATE_RISK_HIGH', DEFAULT_THRESHOLDS.high, (n) => n >= 0 && n <= 1, 'a probability in [0, 1]');
  if (high < medium) throw new ConfigError('RISKGATE_RISK_HIGH', `${high} is below RISKGATE_RISK_MEDIUM (${medium})`);
  const logLevel = env.RISKGATE_LOG_LEVEL?.trim() || 'info';
  if (!LEVELS.includes(logLevel)) throw new ConfigError('RISKGATE_LOG_LEVEL', `"${logLevel}" is not one of ${LEVELS.join(', ')}`);
  const logFormat = (env.RISKGATE_LOG_FORMAT?.trim().toLowerCase() || 'auto') as Config['logFormat'];
  if (!['json', 'pretty', 'auto'].includes(logFormat)) throw new ConfigError('RISKGATE_LOG_FORMAT', `"${env.RISKGATE_LOG_FORMAT}" is not one of json, pretty, auto`);
  const host = env.RISKGATE_HOST?.trim() || '0.0.0.0';
  const localOnly = apiKeys.length === 0;
  const prom = env.RISKGATE_PROMETHEUS_URL?.trim() || null;
  if (prom !== null && !/^https?:\/\/[^\s]+$/.test(prom)) throw new ConfigError('RISKGATE_PROMETHEUS_URL', `"${prom}" is not an http(s) URL`);
  const attribution = (env.RISKGATE_ATTRIBUTION?.trim() || 'path') as Attribution;
  if (!ATTRIBUTIONS.includes(attribution)) throw new ConfigError('RISKGATE_ATTRIBUTION', `"${attribution}" is not one of ${ATTRIBUTIONS.join(', ')}`);
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
      failureThreshold: num(env, 'RISKGATE_CIRCUIT_FAILURES', DEFAULT_CIRCUIT_SETTINGS.failureThreshold, (n) => int(n) && n >= 1, 'an integer ≥ 1'),
      cooldownMs: 1000 * num(env, 'RISKGATE_CIRCUIT_COOLDOWN_S', DEFAULT_CIRCUIT_SETTINGS.cooldownMs / 1000, (n) => n >= 0, 'a number of seconds ≥ 0'),
    },
    rateLimit: {
      perMinute: num(env, 'RISKGATE_RATE_LIMIT', 600, (n) => n > 0, 'a positive number of requests per minute'),
      burst: num(env, 'RISKGATE_RATE_BURST', 100, (n) => int(n) && n >= 1, 'an integer ≥ 1'),
    },
    bodyLimitBytes: 1024 * 1024,
    metricsAuth: bool(env, 'RISKGATE_METRICS_AUTH', false),
    logLevel,
    logFormat,
    shutdownGraceMs: 1000 * num(env, 'RISKGATE_SHUTDOWN_GRACE_S', 10, (n) => n >= 0, 'a number of seconds ≥ 0'),
    workers: workers(env),
    prometheusUrl: prom,
    attribution,
  };
}
