/**
 * A store and registry with every kind of data the dashboard draws: simulated runs, a trained champion and
 * challenger, risk checks (some on runs that finished, one still pending), canary decision logs in both the
 * summary and the canary service's full shape, job runs and a stored backtest. Values the tests look for
 * are returned in `known` so assertions never repeat magic numbers.
 */
import { schedulerConfigFromEnv } from '../../src/config/background.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type RequestHandler } from 'express';
import { pino } from 'pino';
import { errorHandler, HttpError } from '../../src/api/errors.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { riskEventId } from '../../src/dashboard/data.ts';
import { failureLabel, type RunRecord } from '../../src/records/schema.ts';
import { simulateHistory } from '../../src/simulate/history.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import type { JobEvent } from '../../training/scheduler.ts';

export const TEST_KEY = 'e2e-dashboard-key';
export const REPOS = ['acme/web', 'acme/api'];

export interface Seeded {
  store: Store;
  modelsDir: string;
  dir: string;
  known: {
    championId: string;
    challengerId: string;
    riskHigh: {
      id: string;
      repo: string;
      head_sha: string;
      probability: number;
      outcome: string;
      factors: { feature: string; value: number; contribution: number }[];
    };
    pendingSha: string;
    riskCount: number;
    canaryServices: string[];
    rollbackReason: string;
    jobError: string;
    backtestRepo: string;
  };
  close(): void;
}

export async function seedDashboard(): Promise<Seeded> {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-dash-'));
  const store = openStore(join(dir, 'riskgate.db'));
  const modelsDir = join(dir, 'models');
  const runs = simulateHistory({ seed: 11, repos: REPOS, runsPerRepo: 700 });
  store.upsertRuns(runs);

  const champ = await trainFromStore({ store, modelsDir, kinds: ['gbdt', 'baseline'], promote: true });
  // A second, later training that waits as challenger (trained on an earlier cut so it differs).
  const cut = runs[Math.floor(runs.length * 0.8)].created_at;
  const chall = await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false, until: cut });

  // Risk checks on the newest finished runs of each repo (one failed, the rest as they came), plus one pending.
  const finished = (repo: string) =>
    runs.filter(
      (r): r is RunRecord & { head_sha: string } =>
        r.repo === repo && r.head_sha !== null && failureLabel(r.conclusion) !== null,
    );
  const failedRun = finished('acme/web')
    .filter((r) => failureLabel(r.conclusion) === 1)
    .at(-1)!;
  const others = [...finished('acme/web').slice(-5), ...finished('acme/api').slice(-5)].filter(
    (r) => r.head_sha !== failedRun.head_sha,
  );
  const model = { id: champ.manifest.id, kind: champ.manifest.kind, version: champ.manifest.id };
  const highFactors = [
    { feature: 'fail_rate_20', value: 0.45, contribution: 0.92 },
    { feature: 'consecutive_failures', value: 2, contribution: 0.61 },
    { feature: 'is_friday_afternoon', value: 1, contribution: 0.24 },
    { feature: 'files_changed', value: 3, contribution: -0.18 },
  ];
  const base = Date.parse(runs.at(-1)!.created_at);
  let k = 0;
  const at = () => new Date(base + 60_000 * ++k).toISOString();
  const level = (p: number) => (p > 0.7 ? 'high' : p > 0.3 ? 'medium' : 'low');
  others.forEach((r, i) => {
    const p = Number((0.08 + 0.07 * i).toFixed(2));
    store.appendEvent('risk', r.repo, {
      repo: r.repo,
      head_sha: r.head_sha,
      probability: p,
      risk_level: level(p),
      model,
      at: at(),
      factors: [
        { feature: 'fail_rate_20', value: 0.1, contribution: -0.3 + 0.05 * i },
        { feature: 'hour', value: 10, contribution: 0.1 },
      ],
    });
  });
  const pendingSha = 'f00dfeedbeef00000000000000000000deadbeef';
  store.appendEvent('risk', 'acme/api', {
    repo: 'acme/api',
    head_sha: pendingSha,
    probability: 0.41,
    risk_level: 'medium',
    model,
    at: at(),
    factors: [],
  });
  const highPayload = {
    repo: failedRun.repo,
    head_sha: failedRun.head_sha,
    probability: 0.83,
    risk_level: 'high',
    model,
    at: at(),
    factors: highFactors,
  };
  store.appendEvent('risk', failedRun.repo, highPayload);
  const highId = riskEventId({ at: '', key: failedRun.repo, payload: highPayload });

  // Canary: "checkout" from the summary-shaped event log, "payments" from the canary service's full log.
  const t0 = Date.parse('2025-03-03T10:00:00Z');
  const minute = (m: number) => new Date(t0 + m * 60_000).toISOString();
  const steps: [number, number, string, string[]][] = [
    [0, 5, 'increase', ['risk 0.12 low: start at 5 %']],
    [5, 10, 'increase', ['all metrics pass']],
    [10, 25, 'increase', ['all metrics pass']],
    [25, 25, 'hold', ['latency_p99 inconclusive: wait for more samples']],
    [25, 50, 'increase', ['all metrics pass']],
    [50, 100, 'promote', ['all metrics pass at 50 %: promote']],
  ];
  steps.forEach(([from, to, action, reasons], i) => {
    store.appendEvent('canary', 'checkout', {
      service: 'checkout',
      version: 'v2.4.0',
      from_weight: from,
      weight: to,
      action,
      reasons,
      at: minute(i * 5),
      metrics: {
        error_rate: { canary: 0.011 + i * 0.001, baseline: 0.012 },
        latency_p99: { canary: 231 + i, baseline: 228 },
      },
    });
  });
  const rollbackReason = 'error_rate is higher on the canary (critical)';
  const full = (weight: number, next: number, action: string, reasons: string[], canaryErr: number, m: number) =>
    store.appendEvent('canary_decision', 'payments', {
      version: 'v7.1.0',
      deployment: { service: 'payments', version: 'v7.1.0', repo: 'acme/api' },
      request: { current_weight: weight, metrics: [{ name: 'error_rate', baseline: [0.01], canary: [canaryErr] }] },
      started_at: minute(0),
      finished: action === 'rollback',
      at: minute(m),
      response: {
        action,
        next_weight: next,
        confidence: 0.9,
        score: action === 'rollback' ? 0 : 100,
        score_upper: 100,
        verdict: action === 'rollback' ? 'fail' : 'pass',
        risk: 0.3,
        risk_source: 'model',
        look: 1,
        reasons,
        metrics: [
          {
            name: 'error_rate',
            classification: action === 'rollback' ? 'High' : 'Pass',
            canary_mean: canaryErr,
            baseline_mean: 0.01,
          },
        ],
      },
    });
  full(0, 10, 'increase', ['all metrics pass'], 0.0102, 0);
  full(10, 0, 'rollback', [rollbackReason], 0.0641, 6);

  const jobError = 'GitHub API rate limit exhausted until 04:12 UTC';
  // The scheduler's own JobEvent shape (training/scheduler.ts): `status` is the outcome, `result` an object.
  // The seed once wrote `result: 'ok'`, so the page passed here while it showed real jobs as failed.
  const job = (name: string, startMin: number, ms: number, status: JobEvent['status'], error?: string) =>
    store.appendEvent('job', name, {
      job: name as JobEvent['job'],
      status,
      started_at: minute(startMin),
      finished_at: new Date(t0 + startMin * 60_000 + ms).toISOString(),
      duration_ms: ms,
      owner: 'seed-host:4242',
      tick_at: minute(startMin),
      ...(status === 'ok'
        ? {
            result:
              name === 'retrain'
                ? { challenger: 'gbdt-20250301030012-a1b2c3', promoted: true, on_trial: false }
                : { repos: [{ repo: 'acme/web', inserted: 12, updated: 0, runs: 12 }] },
          }
        : {}),
      ...(error ? { error } : {}),
    } satisfies JobEvent as unknown as Record<string, unknown>);
  job('ingest', 0, 4200, 'ok');
  job('ingest', 15, 3900, 'ok');
  job('retrain', 20, 81_000, 'ok');
  job('ingest', 30, 1200, 'error', jobError);
  job('backtest', 40, 152_000, 'ok');

  store.setState(
    'backtest:last',
    JSON.stringify({
      model: 'gbdt',
      threshold: 0.4,
      predictions: [],
      repos: REPOS.map((repo, i) => ({
        repo,
        test_runs: 140 + i,
        failure_rate: 0.2,
        f1: 0.5 + i / 100,
        pr_auc: 0.6,
        roc_auc: 0.75,
        baseline: { f1: 0.3, pr_auc: 0.3, roc_auc: 0.5 },
      })),
      mean: { f1: 0.505, pr_auc: 0.6, roc_auc: 0.75 },
      baselineMean: { f1: 0.3, pr_auc: 0.3, roc_auc: 0.5 },
    }),
  );

  return {
    store,
    modelsDir,
    dir,
    known: {
      championId: champ.manifest.id,
      challengerId: chall.manifest.id,
      riskHigh: {
        id: highId,
        repo: failedRun.repo,
        head_sha: failedRun.head_sha,
        probability: 0.83,
        outcome: failedRun.conclusion!,
        factors: highFactors,
      },
      pendingSha,
      riskCount: others.length + 2,
      canaryServices: ['checkout', 'payments'],
      rollbackReason,
      jobError,
      backtestRepo: REPOS[1],
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Test double of the API's auth: one bearer key with the given scopes. */
export function bearerScopes(scopes: string[]): (s: 'score' | 'report' | 'admin') => RequestHandler {
  return (scope) => (req, _res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || m[1] !== TEST_KEY)
      return next(
        new HttpError(
          401,
          'unauthorized',
          m ? 'unknown API key' : 'missing bearer token (Authorization: Bearer <key>)',
        ),
      );
    if (!scopes.includes(scope)) return next(new HttpError(403, 'forbidden', `API key lacks the "${scope}" scope`));
    next();
  };
}

export async function serveDashboard(
  seed: Pick<Seeded, 'store' | 'modelsDir'>,
  opts: { scopes?: string[]; authRequired?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use(
    createDashboardRouter({
      store: seed.store,
      modelsDir: seed.modelsDir,
      requireScope:
        opts.authRequired === false ? () => (_req, _res, next) => next() : bearerScopes(opts.scopes ?? ['score']),
      authRequired: opts.authRequired ?? true,
      cron: schedulerConfigFromEnv(opts.env ?? {}).cron,
    }),
  );
  app.use(errorHandler(pino({ level: 'silent' })));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
