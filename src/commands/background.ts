/**
 * What `riskgate serve` runs beside the HTTP answers: webhook alerts, the drift monitor the live watchers
 * around the scorer report to (serving/chain.ts composes those) and the node-cron scheduler (ingest, retrain,
 * evaluate). Kept apart from serve.ts so a cluster can give the scheduler to exactly one process while
 * every worker still watches its own traffic.
 */
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { alertConfigFromEnv, AlertConfigError, createAlerter, type Alerter } from '../alerts/alerter.ts';
import { ConfigError } from '../config.ts';
import { FEATURES } from '../features/definition.ts';
import { createDriftMonitor, type DriftMonitor } from '../registry/drift.ts';
import type { Store } from '../store/types.ts';
import { DEFAULT_MARGINS } from '../../training/challenger.ts';
import {
  createScheduler,
  DEFAULT_CRON,
  schedulerConfigFromEnv,
  type Scheduler,
  type SchedulerConfig,
} from '../../training/scheduler.ts';

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
  try {
    const raw = (env.RISKGATE_DRIFT_RETRAIN ?? 'false').trim().toLowerCase();
    if (!['true', 'false', '1', '0', ''].includes(raw))
      throw new ConfigError('RISKGATE_DRIFT_RETRAIN', `"${env.RISKGATE_DRIFT_RETRAIN}" is not true/false`);
    return {
      alerts: alertConfigFromEnv(env),
      scheduler: schedulerConfigFromEnv(env),
      driftRetrain: raw === 'true' || raw === '1',
    };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof AlertConfigError)
      throw new ConfigError(err.variable, err.message.slice(err.variable.length + 2));
    // The scheduler's messages start with the variable they are about ("RISKGATE_RETRAIN_CRON: …").
    const m = /^([A-Z][A-Z0-9_]+): (.*)$/s.exec((err as Error).message);
    if (m) throw new ConfigError(m[1], m[2]);
    throw err;
  }
}

export interface Background {
  readonly alerter: Alerter;
  readonly drift: DriftMonitor;
  /** Scores at or above this raise a `high_score` alert (the live watchers in serving/chain.ts read it). */
  readonly minAlertScore: number;
  /** Starts the cron schedule in this process (one process per deployment does). */
  startSchedule(onChampionChanged?: (id: string) => void): Scheduler;
  close(): Promise<void>;
}

export function createBackground(o: {
  store: Store;
  dbPath: string;
  modelsDir: string;
  settings: BackgroundSettings;
  log: Logger;
  metrics?: PromRegistry;
}): Background {
  const { settings, log } = o;
  const alerter = createAlerter({
    webhooks: settings.alerts.webhooks,
    dashboardUrl: settings.alerts.dashboardUrl,
    dedupeWindowMs: settings.alerts.dedupeWindowMs,
    log,
  });
  let scheduler: Scheduler | null = null;
  // A worker that sees drift but runs no schedule still asks for the retrain: the job lock in the store
  // lets exactly one process train.
  let onDemand: Scheduler | null = null;
  const schedulerFor = (onChampionChanged?: (id: string) => void) =>
    createScheduler({
      store: o.store,
      dbPath: o.dbPath,
      modelsDir: o.modelsDir,
      config: settings.scheduler,
      log,
      alerter,
      onChampionChanged,
    });

  const drift = createDriftMonitor({
    featureNames: FEATURES,
    promRegistry: o.metrics,
    onDrift: (report, newly) => {
      log.warn({ features: newly, score_psi: report.score_psi }, 'input drift detected');
      alerter.alert({
        kind: 'drift',
        message: `Input drift against the training data: ${newly.join(', ')}.`,
        detail: { features: newly, model: report.model },
      });
      if (settings.driftRetrain)
        void (scheduler ?? (onDemand ??= schedulerFor()))
          .requestRetrain(`drift: ${newly.join(', ')}`)
          .catch(() => undefined);
    },
  });

  return {
    alerter,
    drift,
    minAlertScore: settings.alerts.minScore,
    startSchedule(onChampionChanged) {
      scheduler ??= schedulerFor(onChampionChanged);
      scheduler.start();
      return scheduler;
    },
    async close() {
      scheduler?.stop();
      await alerter.flush();
      alerter.close();
    },
  };
}
