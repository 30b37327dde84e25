/**
 * What `riskgate serve` runs beside the HTTP answers: webhook alerts, the drift monitor the live watchers
 * around the scorer report to (serving/chain.ts composes those) and the node-cron scheduler (ingest, retrain,
 * evaluate). Kept apart from serve.ts so a cluster can give the scheduler to exactly one process while
 * every worker still watches its own traffic.
 */
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { createAlerter, type Alerter } from '../alerts/alerter.ts';
import type { BackgroundSettings } from '../config/background.ts';
import { FEATURES } from '../features/definition.ts';
import { createDriftMonitor, type DriftMonitor } from '../registry/drift.ts';
import type { Store } from '../store/types.ts';
import { createScheduler, type Scheduler } from '../../training/scheduler.ts';

// The settings are read in src/config/background.ts; re-exported for serve.ts, which imports them from here.

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
