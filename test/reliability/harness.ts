/**
 * The whole HTTP service as `riskgate serve` assembles it (createApp + the canary, models, dashboard and
 * report routers, the same anonymous dashboard shell), on 127.0.0.1 with a real port, a file-backed store
 * seeded with history, circuits and events, and a real trained champion (gbdt) plus a waiting challenger.
 * `snapshot()` reads every table through a second, read-only SQLite connection, so a test can prove that a
 * rejected request changed nothing.
 */
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.ts';
import { requireScope } from '../../src/api/auth.ts';
import { RiskMemory } from '../../src/serving/risk-memory.ts';
import { createCanaryRouter, canaryOpenApiSchemas } from '../../src/canary/router.ts';
import type { Config } from '../../src/config.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelsRouter } from '../../src/registry/router.ts';
import { DEFAULT_CRON } from '../../src/config/background.ts';
import { createModelScorer, type ModelScorerOptions } from '../../src/serving/model-scorer.ts';
import { createReportRouter } from '../../src/report/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { silent, testConfig } from '../api/helpers.ts';
import { randomHistory } from '../support/runs.ts';
import { createEventLog } from '../../src/store/event-log.ts';
import { createRiskLog } from '../../src/serving/risk-log.ts';
import { INPUTS_EVENT } from '../../src/canary/service.ts';

export const REPOS = ['acme/web', 'acme/api'];

export interface Harness {
  url: string;
  store: Store;
  modelsDir: string;
  championId: string;
  challengerId: string;
  /** A hash per table (and the registry's champion pointer): equal snapshots mean nothing was stored. */
  snapshot(): Record<string, string>;
  close(): Promise<void>;
}

const TABLES = ['runs', 'state', 'circuits', 'models', 'audit', 'events', 'locks'];

export async function startHarness(opts: { env?: Record<string, string>; config?: Config } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-reliability-'));
  const dbFile = join(dir, 'riskgate.db');
  const modelsDir = join(dir, 'models');
  const store = openStore(dbFile);
  store.upsertRuns(randomHistory(3, 300, REPOS));
  const champ = (await trainFromStore({ store, modelsDir, kinds: ['gbdt'], promote: true })).manifest;
  const chall = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest;
  store.putCircuit({
    name: 'npm',
    state: 'open',
    consecutive_failures: 5,
    opened_at: Date.now(),
    trial_at: null,
    updated_at: Date.now(),
  });
  store.appendEvent('risk', 'acme/web', {
    repo: 'acme/web',
    head_sha: 'abc123',
    probability: 0.4,
    risk_level: 'medium',
    at: new Date().toISOString(),
    factors: [],
  });
  store.appendEvent('job', 'ingest', {
    job: 'ingest',
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: 10,
    result: 'ok',
  });

  const config = opts.config ?? testConfig({ RISKGATE_MODELS_DIR: modelsDir, ...opts.env });
  const fallback = createFallbackScorer({ store, timezone: config.timezone });
  const scorer = await createModelScorer({
    store,
    modelsDir,
    timezone: config.timezone,
    fallback: fallback as ModelScorerOptions['fallback'],
    pollMs: 0,
    log: silent,
  });
  const memory = new RiskMemory();
  // Flushed before every snapshot, so an earlier accepted risk check's batched log never lands mid-comparison.
  const riskLog = createRiskLog(store, { intervalMs: 3_600_000 });
  // Same for the raw samples of canary decisions, written behind each answer.
  const canaryInputs = createEventLog(store, INPUTS_EVENT, { intervalMs: 3_600_000 });
  const app = createApp({
    store,
    scorer,
    config,
    logger: silent,
    riskMemory: memory,
    riskLog,
    defaultMetrics: false,
    openapi: { schemas: canaryOpenApiSchemas },
    anonymousOk: (p) => p === '/' || p === '/ui' || p.startsWith('/ui/'),
    extraRouters: [
      createCanaryRouter({
        store,
        log: silent,
        riskLookup: async (repo, sha) => memory.lookup(repo, sha),
        inputsLog: canaryInputs,
      }),
      createModelsRouter({
        store,
        modelsDir,
        scorer: { reload: () => scorer.reload() },
        requireScope,
        cron: DEFAULT_CRON,
      }),
      createDashboardRouter({
        store,
        modelsDir,
        requireScope,
        authRequired: !config.localOnly,
        timezone: config.timezone,
        cron: DEFAULT_CRON,
      }),
      createReportRouter({ store, requireScope }),
    ],
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;

  const ro = new Database(dbFile, { readonly: true, fileMustExist: true });
  const stmts = TABLES.map((t) => [t, ro.prepare(`SELECT * FROM ${t}`).raw(true)] as const);
  const registry = new Registry(modelsDir);
  const snapshot = (): Record<string, string> => {
    riskLog.flush();
    canaryInputs.flush();
    const out: Record<string, string> = {};
    for (const [t, st] of stmts) {
      const h = createHash('sha1');
      let n = 0;
      for (const row of st.iterate() as Iterable<unknown[]>) {
        h.update(
          JSON.stringify(row, (_k, v) =>
            Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v,
          ),
        );
        n++;
      }
      out[t] = `${n}:${h.digest('hex')}`;
    }
    out.champion = registry.championId() ?? '(none)';
    return out;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    store,
    modelsDir,
    championId: champ.id,
    challengerId: chall.id,
    snapshot,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      scorer.close();
      ro.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fetch with a deadline: a hang is a failure, not a stuck test run. */
export async function send(
  base: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: opts.body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}
