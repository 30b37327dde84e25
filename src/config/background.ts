/**
 * The settings of what `riskgate serve` runs beside the HTTP answers (src/commands/background.ts) and of the
 * `riskgate worker` and `riskgate jobs` commands: webhook alerts, the job schedule, the promotion margins and
 * drift retraining. Read and checked here, from environment variables, like the server's in config.ts.
 */
import cron from 'node-cron';
import { parseWebhooks, type AlertConfig } from '../alerts/alerter.ts';
import { MODEL_KINDS, type ModelKind } from '../ml/model.ts';
import { DEFAULT_MARGINS, type Margins } from '../../training/challenger.ts';
import { ConfigError } from './error.ts';

export type JobName = 'ingest' | 'retrain' | 'evaluate';

export interface SchedulerConfig {
  cron: Record<JobName, string>;
  repos: string[];
  githubToken?: string;
  githubBaseUrl?: string;
  timezone?: string;
  kinds: ModelKind[];
  margins: Margins;
  /** Run training in a child process (the default) or inline (tests with an in-memory store). */
  retrainMode: 'child' | 'inline';
  lockTtlMs: Record<JobName, number>;
  /**
   * While a job runs its lock is renewed every third of this, with this as its expiry (capped by lockTtlMs):
   * a holder that dies frees the job within `leaseMs`, where its full TTL would block it for hours.
   */
  leaseMs: number;
  /** Put a challenger that passes offline on a live shadow trial instead of promoting it at once. */
  shadowTrial: boolean;
  shadowMinOutcomes: number;
  /** Kill a retrain child that runs longer than this. */
  retrainTimeoutMs: number;
}

export const DEFAULT_CRON: Readonly<Record<JobName, string>> = Object.freeze({
  ingest: '*/15 * * * *',
  retrain: '0 3 * * 0',
  evaluate: '30 4 * * *',
});

export function schedulerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  const cronOf = (name: JobName, variable: string): string => {
    const v = env[variable]?.trim() || DEFAULT_CRON[name];
    if (!cron.validate(v))
      throw new ConfigError(variable, `"${v}" is not a valid cron expression (e.g. "${DEFAULT_CRON[name]}")`);
    return v;
  };
  const kinds = (env.RISKGATE_RETRAIN_MODELS?.trim() || 'gbdt,baseline').split(',').map((s) => s.trim()) as ModelKind[];
  const bad = kinds.filter((k) => !MODEL_KINDS.includes(k));
  if (bad.length)
    throw new ConfigError(
      'RISKGATE_RETRAIN_MODELS',
      `unknown model kind(s) ${bad.join(', ')} (choose from ${MODEL_KINDS.join(', ')})`,
    );
  const repos = (env.RISKGATE_REPOS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const r of repos)
    if (!/^[\w.-]+\/[\w.-]+$/.test(r)) throw new ConfigError('RISKGATE_REPOS', `"${r}" is not owner/name`);
  const minOut = Number(env.RISKGATE_SHADOW_MIN_OUTCOMES?.trim() || 200);
  if (!Number.isInteger(minOut) || minOut < 1)
    throw new ConfigError(
      'RISKGATE_SHADOW_MIN_OUTCOMES',
      `"${env.RISKGATE_SHADOW_MIN_OUTCOMES}" is not an integer ≥ 1`,
    );
  const trial = (env.RISKGATE_SHADOW_TRIAL ?? 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0', ''].includes(trial))
    throw new ConfigError('RISKGATE_SHADOW_TRIAL', `"${env.RISKGATE_SHADOW_TRIAL}" is not true/false`);
  return {
    cron: {
      ingest: cronOf('ingest', 'RISKGATE_INGEST_CRON'),
      retrain: cronOf('retrain', 'RISKGATE_RETRAIN_CRON'),
      evaluate: cronOf('evaluate', 'RISKGATE_EVALUATE_CRON'),
    },
    repos,
    githubToken: env.GITHUB_TOKEN?.trim() || undefined,
    githubBaseUrl: env.GITHUB_API_URL?.trim() || undefined,
    timezone: env.RISKGATE_TIMEZONE?.trim() || undefined,
    kinds,
    margins: marginsFromEnv(env),
    retrainMode: 'child',
    lockTtlMs: { ingest: 30 * 60_000, retrain: 3 * 3600_000, evaluate: 30 * 60_000 },
    leaseMs: 90_000,
    shadowTrial: trial === 'true' || trial === '1',
    shadowMinOutcomes: minOut,
    retrainTimeoutMs: 2 * 3600_000,
  };
}

/** Reads the margins from the environment, naming the variable when a value is invalid. */
export function marginsFromEnv(env: NodeJS.ProcessEnv = process.env): Margins {
  const read = (name: string, def: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(name, `"${raw}" is not a number in [0, 1]`);
    return n;
  };
  return {
    minPrAucGain: read('RISKGATE_PROMOTE_MIN_PR_AUC_GAIN', DEFAULT_MARGINS.minPrAucGain),
    maxF1Loss: read('RISKGATE_PROMOTE_MAX_F1_LOSS', DEFAULT_MARGINS.maxF1Loss),
    brierTolerance: read('RISKGATE_PROMOTE_BRIER_TOLERANCE', DEFAULT_MARGINS.brierTolerance),
  };
}

export function alertConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AlertConfig {
  const webhooks = parseWebhooks(env.RISKGATE_ALERT_WEBHOOKS);
  const rawMin = env.RISKGATE_ALERT_MIN_SCORE?.trim();
  const minScore = rawMin ? Number(rawMin) : 0.8;
  if (!Number.isFinite(minScore) || minScore < 0 || minScore > 1)
    throw new ConfigError('RISKGATE_ALERT_MIN_SCORE', `"${rawMin}" is not a probability in [0, 1]`);
  const rawWin = env.RISKGATE_ALERT_DEDUPE_S?.trim();
  const win = rawWin ? Number(rawWin) : 3600;
  if (!Number.isFinite(win) || win < 0)
    throw new ConfigError('RISKGATE_ALERT_DEDUPE_S', `"${rawWin}" is not a number of seconds ≥ 0`);
  const dashboardUrl = env.RISKGATE_DASHBOARD_URL?.trim() || undefined;
  if (dashboardUrl) {
    try {
      new URL(dashboardUrl);
    } catch {
      throw new ConfigError('RISKGATE_DASHBOARD_URL', `"${dashboardUrl}" is not a URL`);
    }
  }
  return { webhooks, minScore, dashboardUrl, dedupeWindowMs: win * 1000 };
}

/** The background's settings, for `riskgate serve --help` and the README; `backgroundSettings` reads exactly these. */
export const BACKGROUND_ENV_VARS: Record<string, { default: string; help: string }> = {
  GITHUB_TOKEN: {
    default: '(none)',
    help: 'enables scheduled ingestion from GitHub (actions:read, contents:read); never logged',
  },
  GITHUB_API_URL: { default: 'https://api.github.com', help: 'GitHub Enterprise Server API base URL' },
  RISKGATE_REPOS: { default: '(none)', help: 'comma-separated owner/name the scheduler ingests' },
  RISKGATE_INGEST_CRON: { default: DEFAULT_CRON.ingest, help: 'when to pull new workflow runs' },
  RISKGATE_RETRAIN_CRON: {
    default: DEFAULT_CRON.retrain,
    help: 'when to train a challenger and compare it with the champion',
  },
  RISKGATE_EVALUATE_CRON: {
    default: DEFAULT_CRON.evaluate,
    help: 'when to re-score the champion on the newest data (and end a shadow trial)',
  },
  RISKGATE_RETRAIN_MODELS: {
    default: 'gbdt,baseline',
    help: 'candidate kinds a retrain compares (gbdt, forest, mlp, baseline)',
  },
  RISKGATE_PROMOTE_MIN_PR_AUC_GAIN: {
    default: String(DEFAULT_MARGINS.minPrAucGain),
    help: 'PR-AUC a challenger must gain over the champion on the same holdout',
  },
  RISKGATE_PROMOTE_MAX_F1_LOSS: {
    default: String(DEFAULT_MARGINS.maxF1Loss),
    help: 'F1 a challenger may lose and still be promoted',
  },
  RISKGATE_PROMOTE_BRIER_TOLERANCE: {
    default: String(DEFAULT_MARGINS.brierTolerance),
    help: 'how much worse its Brier score may be',
  },
  RISKGATE_SHADOW_TRIAL: {
    default: 'false',
    help: 'a challenger that passes offline is shadow-scored on live traffic before promotion',
  },
  RISKGATE_SHADOW_MIN_OUTCOMES: { default: '200', help: 'live outcomes a shadow trial needs before it can promote' },
  RISKGATE_DRIFT_RETRAIN: { default: 'false', help: 'input drift (PSI above 0.2) starts a retrain at once' },
  RISKGATE_ALERT_WEBHOOKS: {
    default: '(none)',
    help: 'comma-separated slack:https://… or json:https://… alert receivers',
  },
  RISKGATE_ALERT_MIN_SCORE: { default: '0.8', help: 'failure probability at or above which a risk check alerts' },
  RISKGATE_ALERT_DEDUPE_S: { default: '3600', help: 'one alert per kind, repo and commit within this many seconds' },
  RISKGATE_DASHBOARD_URL: { default: '(none)', help: 'link put in alerts (e.g. https://riskgate.internal.example/)' },
};

export interface BackgroundSettings {
  alerts: ReturnType<typeof alertConfigFromEnv>;
  scheduler: SchedulerConfig;
  /** Drift past the threshold starts a retrain at once instead of waiting for the weekly one. */
  driftRetrain: boolean;
}

/** Reads and validates every background setting up front, so a bad one stops start-up with its variable named. */
export function backgroundSettings(env: NodeJS.ProcessEnv = process.env): BackgroundSettings {
  const raw = (env.RISKGATE_DRIFT_RETRAIN ?? 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0', ''].includes(raw))
    throw new ConfigError('RISKGATE_DRIFT_RETRAIN', `"${env.RISKGATE_DRIFT_RETRAIN}" is not true/false`);
  return {
    alerts: alertConfigFromEnv(env),
    scheduler: schedulerConfigFromEnv(env),
    driftRetrain: raw === 'true' || raw === '1',
  };
}
