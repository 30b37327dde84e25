import { commandSettings } from '../config/commands.ts';
import { parseCommandArgs } from './args.ts';
import { pino } from 'pino';
import { defaultPaths, openDefaultStore } from './shared.ts';

export const summary = 'Run the background jobs (ingest, retrain, evaluate) without the HTTP server';
export const help = `Usage: riskgate worker [--db FILE] [--models-dir DIR] [--run-now JOB]

For deployments that split serving from training: runs the same scheduler as \`riskgate serve\`
(node-cron; retraining in a child process) against the shared store and models folder. Serving
processes pick up a new champion through their registry poll. Only one process runs a given job at
a time (a lock with expiry in the store), so several workers are safe.

Environment: RISKGATE_INGEST_CRON (*/15 * * * *), RISKGATE_RETRAIN_CRON (0 3 * * 0),
RISKGATE_EVALUATE_CRON (30 4 * * *), RISKGATE_REPOS, GITHUB_TOKEN, RISKGATE_RETRAIN_MODELS,
RISKGATE_PROMOTE_MIN_PR_AUC_GAIN, RISKGATE_PROMOTE_MAX_F1_LOSS, RISKGATE_SHADOW_TRIAL,
RISKGATE_ALERT_WEBHOOKS (see docs/operations.md).

Examples:
  riskgate worker
  RISKGATE_RETRAIN_CRON="0 2 * * *" riskgate worker --run-now retrain`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    options: { db: { type: 'string' }, 'models-dir': { type: 'string' }, 'run-now': { type: 'string' } },
  });
  const { createScheduler, JOB_NAMES } = await import('../../training/scheduler.ts');
  const { createAlerter } = await import('../alerts/alerter.ts');
  const { alertConfigFromEnv, schedulerConfigFromEnv } = await import('../config/background.ts');
  let config, alerts;
  try {
    config = schedulerConfigFromEnv();
    alerts = alertConfigFromEnv();
  } catch (err) {
    console.error(`riskgate worker: invalid configuration: ${(err as Error).message}`);
    return 2;
  }
  const now = values['run-now'];
  if (now !== undefined && !JOB_NAMES.includes(now as never)) {
    console.error(`riskgate worker: --run-now "${now}" is not a job (${JOB_NAMES.join(', ')})`);
    return 2;
  }
  const log = pino({ level: commandSettings().logLevel });
  const dbPath = values.db ?? defaultPaths().db;
  const store = openDefaultStore(dbPath);
  const alerter = createAlerter({
    webhooks: alerts.webhooks,
    dashboardUrl: alerts.dashboardUrl,
    dedupeWindowMs: alerts.dedupeWindowMs,
    log,
  });
  const modelsDir = values['models-dir'] ?? defaultPaths().modelsDir;
  // PostgreSQL: the models it trains reach the serving replicas through the database (no shared volume).
  const { startRegistrySync } = await import('../registry/db-sync.ts');
  const registrySync = startRegistrySync({ store, modelsDir, log });
  const scheduler = createScheduler({ store, dbPath, modelsDir, config, log, alerter });
  scheduler.start();
  if (now) void scheduler.runJob(now as never);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'worker stopping');
      scheduler.stop();
      registrySync?.stop();
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await alerter.flush();
  alerter.close();
  store.close();
  return 0;
}
