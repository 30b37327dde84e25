/**
 * What `riskgate serve` runs beside the HTTP answers: webhook alerts, the live watchers around the scorer
 * (shadow challenger, A/B share, drift, high-score alerts) and the node-cron scheduler (ingest, retrain,
 * evaluate). Kept apart from serve.ts so a cluster can give the scheduler to exactly one process while
 * every worker still watches its own traffic.
 */
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { createAlerter, type Alerter } from '../alerts/alerter.ts';
import { instrumentScorer } from '../alerts/live.ts';
import type { BackgroundSettings } from '../config/background.ts';
import { FEATURES } from '../features/definition.ts';
import { createDriftMonitor, type DriftMonitor } from '../registry/drift.ts';
import type { ModelScorer } from '../registry/scorer.ts';
import type { Store } from '../store/types.ts';
import { createScheduler, type Scheduler } from '../../training/scheduler.ts';

// The settings are read in src/config/background.ts; re-exported for serve.ts, which imports them from here.
export { BACKGROUND_ENV_VARS, backgroundSettings, type BackgroundSettings } from '../config/background.ts';

export interface Background {
  readonly alerter: Alerter;
  readonly drift: DriftMonitor;
  /** Wraps the model scorer with shadow scoring, drift tracking and high-score alerts. */
  watch(scorer: ModelScorer): ModelScorer;
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
  const live: { stopLive(): void }[] = [];

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
    watch(scorer) {
      const watched = instrumentScorer(scorer, {
        store: o.store,
        modelsDir: o.modelsDir,
        drift,
        alerter,
        minAlertScore: settings.alerts.minScore,
        log,
      });
      live.push(watched);
      void watched.refresh().catch((err) => log.warn({ err }, 'could not read the trial and A/B settings'));
      return watched;
    },
    startSchedule(onChampionChanged) {
      scheduler ??= schedulerFor(onChampionChanged);
      scheduler.start();
      return scheduler;
    },
    async close() {
      scheduler?.stop();
      for (const l of live) l.stopLive();
      await alerter.flush();
      alerter.close();
    },
  };
}
