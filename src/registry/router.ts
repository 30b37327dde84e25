import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import { COMMON_ERRORS, READ_ERRORS, err, json, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes } from '../api/route.ts';
import type { Scope } from '../config.ts';
import type { Store } from '../store/types.ts';
import { describeJobs, schedulerConfigFromEnv, type JobName } from '../../training/scheduler.ts';
import { AB_SHARE_STATE, shadowReport, TRIAL_STATE } from '../../training/jobs/shadow.ts';
import type { DriftMonitor } from './drift.ts';
import { Registry, type Manifest } from './registry.ts';
import {
  ChampionChangeSchema,
  DriftSchema,
  JobsSchema,
  ModelDetailSchema,
  ModelListSchema,
  ShadowReportSchema,
  TrialEndedSchema,
  TrialStartedSchema,
} from './schemas.ts';

/**
 * Model management over HTTP (and, through the exported operations, the CLI): list and inspect versions,
 * promote, roll back, put a challenger on a shadow trial. Every change is audited with who, when and why.
 */
export const ModelIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,80}$/, 'must be a model id such as gbdt-20250101120000-ab12cd');
export const ReasonBodySchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why (it goes into the audit log)').max(500),
});
export const TrialBodySchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why (it goes into the audit log)').max(500),
  ab_share: z.number().min(0).max(1).optional(),
});

export class ModelOpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ModelOpError';
  }
}

const indexRow = (m: Manifest) => ({
  id: m.id,
  kind: m.kind,
  status: m.status,
  created_at: m.created_at,
  metrics: m.metrics,
  data_range: m.data_range,
});

export function modelSummary(m: Manifest, championId: string | undefined, trial: string | null) {
  return {
    id: m.id,
    kind: m.kind,
    status: m.status,
    champion: m.id === championId,
    on_trial: m.id === trial,
    created_at: m.created_at,
    data_range: m.data_range,
    metrics: m.metrics,
    threshold: m.threshold,
    code_version: m.code_version,
  };
}

export function listModels(store: Store, modelsDir: string) {
  const registry = new Registry(modelsDir);
  const champion = registry.championId();
  const trial = store.getState(TRIAL_STATE) ?? null;
  return {
    champion: champion ?? null,
    trial,
    ab_share: Number(store.getState(AB_SHARE_STATE) ?? 0),
    previous: registry.history(),
    models: registry
      .list()
      .reverse()
      .map((m) => modelSummary(m, champion, trial)),
  };
}

export function showModel(store: Store, modelsDir: string, id: string) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new ModelOpError(404, `no model "${id}"`);
  return { ...m, champion: registry.championId() === id, on_trial: store.getState(TRIAL_STATE) === id };
}

function audit(store: Store, actor: string, action: string, subject: string, detail: Record<string, unknown>): void {
  store.appendAudit({ at: new Date().toISOString(), actor, action, subject, detail });
}

export function promoteModel(store: Store, modelsDir: string, id: string, actor: string, reason: string) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new ModelOpError(404, `no model "${id}"`);
  const previous = registry.championId() ?? null;
  if (previous === id) throw new ModelOpError(409, `${id} is already the champion`);
  try {
    registry.setChampion(id);
  } catch (err) {
    throw new ModelOpError(409, `cannot promote ${id}: ${(err as Error).message}`);
  }
  if (store.getState(TRIAL_STATE) === id) store.deleteState(TRIAL_STATE);
  for (const x of [id, previous]) {
    const mm = x ? registry.manifest(x) : undefined;
    if (mm) store.putModel(indexRow(mm));
  }
  audit(store, actor, 'promote', id, { reason, previous });
  return { champion: id, previous };
}

export function rollbackModel(store: Store, modelsDir: string, actor: string, reason: string) {
  const registry = new Registry(modelsDir);
  const from = registry.championId() ?? null;
  let to: string;
  try {
    to = registry.rollback();
  } catch (err) {
    throw new ModelOpError(409, (err as Error).message);
  }
  for (const x of [to, from]) {
    const mm = x ? registry.manifest(x) : undefined;
    if (mm) store.putModel(indexRow(mm));
  }
  audit(store, actor, 'rollback', to, { reason, from });
  return { champion: to, previous: from };
}

export function startTrial(store: Store, modelsDir: string, id: string, actor: string, reason: string, abShare = 0) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new ModelOpError(404, `no model "${id}"`);
  if (registry.championId() === id) throw new ModelOpError(409, `${id} is the champion; a trial needs a challenger`);
  try {
    registry.readArtifact(id);
  } catch (err) {
    throw new ModelOpError(409, `cannot trial ${id}: ${(err as Error).message}`);
  }
  if (m.status !== 'challenger') registry.updateStatus(id, 'challenger');
  store.setState(TRIAL_STATE, id);
  store.setState(AB_SHARE_STATE, String(abShare));
  audit(store, actor, 'trial', id, { reason, ab_share: abShare });
  return { trial: id, ab_share: abShare };
}

/**
 * Ends a trial without promoting: the challenger is retired (it lost or was stopped), so it no longer shows
 * as a "challenger" waiting for a decision; `models promote ID` can still make it champion later.
 */
export function endTrial(store: Store, modelsDir: string, actor: string, reason: string) {
  const id = store.getState(TRIAL_STATE);
  if (!id) throw new ModelOpError(409, 'no challenger is on trial');
  store.deleteState(TRIAL_STATE);
  store.setState(AB_SHARE_STATE, '0');
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (m && m.status === 'challenger') {
    registry.updateStatus(id, 'retired');
    store.putModel(indexRow(registry.manifest(id)!));
  }
  audit(store, actor, 'end_trial', id, { reason });
  return { ended: id, status: registry.manifest(id)?.status ?? null };
}

export interface ModelsRouterDeps {
  store: Store;
  modelsDir: string;
  scorer?: { reload(): Promise<boolean> };
  /** Replaces the scope check (default: the API's requireScope); every route has one. */
  requireScope?: (scope: Scope) => RequestHandler;
  drift?: DriftMonitor;
  /** The schedule shown by GET /v1/jobs (defaults to the environment's). */
  cron?: Record<JobName, string>;
  running?: () => ReadonlySet<string>;
}

const actorOf = (res: express.Response): string =>
  (res.locals.principal as { name?: string } | undefined)?.name ?? 'anonymous';

const idParam = { id: ModelIdSchema.describe('model version id, e.g. gbdt-20250101120000-ab12cd') };
const reasonBody = { name: 'ModelReasonBody', schema: ReasonBodySchema };
const notFound = err('not_found: no model with this id');
const conflict = (what: string) => err(`conflict: ${what}`);
const changed = (ok: [string, string], errors: Record<string, unknown>) => ({
  '200': json(ok[0], ok[1]),
  ...COMMON_ERRORS,
  ...errors,
});
const read = (operationId: string, summary: string, ok: [string, string]) => ({
  operationId,
  summary,
  responses: { '200': json(ok[0], ok[1]), ...READ_ERRORS },
});

/** Model management routes. Reads need `score` (README: "score / admin"), like the dashboard's model page; changes need `admin`. */
export const MODELS_ROUTES = routes({
  list: {
    method: 'get',
    path: '/v1/models',
    scope: 'score',
    doc: read('listModels', 'Model versions in the registry, newest first, with the champion and the trial', [
      'ModelList',
      'the registry',
    ]),
  },
  rollback: {
    method: 'post',
    path: '/v1/models/rollback',
    scope: 'admin',
    body: reasonBody,
    doc: {
      operationId: 'rollbackModel',
      summary: 'Go back to the previous champion (audited; the serving scorer reloads)',
      responses: changed(['ModelChampionChange', 'the restored and the replaced champion'], {
        '409': conflict('no earlier champion to go back to'),
      }),
    },
  },
  endTrial: {
    method: 'post',
    path: '/v1/models/trial/end',
    scope: 'admin',
    body: reasonBody,
    doc: {
      operationId: 'endTrial',
      summary: 'End the shadow trial',
      responses: changed(['ModelTrialEnded', 'the trial ended'], { '409': conflict('no challenger is on trial') }),
    },
  },
  show: {
    method: 'get',
    path: '/v1/models/:id',
    scope: 'score',
    params: idParam,
    doc: {
      operationId: 'getModel',
      summary: "One model version's manifest",
      responses: { '200': json('ModelDetail', 'the manifest'), ...READ_ERRORS, '404': notFound },
    },
  },
  promote: {
    method: 'post',
    path: '/v1/models/:id/promote',
    scope: 'admin',
    params: idParam,
    body: reasonBody,
    doc: {
      operationId: 'promoteModel',
      summary: 'Make this version the champion (audited; the serving scorer reloads)',
      responses: changed(['ModelChampionChange', 'the new and the previous champion'], {
        '404': notFound,
        '409': conflict('already the champion, or its artifact fails verification'),
      }),
    },
  },
  trial: {
    method: 'post',
    path: '/v1/models/:id/trial',
    scope: 'admin',
    params: idParam,
    body: { name: 'ModelTrialBody', schema: TrialBodySchema },
    doc: {
      operationId: 'startTrial',
      summary: 'Put a challenger on shadow trial (optionally an A/B share of repositories)',
      responses: changed(['ModelTrialStarted', 'the trial started'], {
        '404': notFound,
        '409': conflict('the model is the champion, or its artifact cannot be read'),
      }),
    },
  },
  shadow: {
    method: 'get',
    path: '/v1/shadow',
    scope: 'score',
    doc: read('shadowReport', 'Champion vs. the challenger on trial, on the same live requests', [
      'ModelShadowReport',
      'the comparison so far',
    ]),
  },
  jobs: {
    method: 'get',
    path: '/v1/jobs',
    scope: 'score',
    doc: read('listJobs', 'Scheduled jobs (ingest, retrain, evaluate): schedule, running state, last runs', [
      'ModelJobs',
      'one entry per job',
    ]),
  },
  drift: {
    method: 'get',
    path: '/v1/drift',
    scope: 'score',
    doc: read('driftReport', "Feature and score drift (PSI) of live requests against the champion's training data", [
      'ModelDrift',
      'the report, or enabled: false',
    ]),
  },
});

export function createModelsRouter(d: ModelsRouterDeps): Router {
  const cronOf = () => d.cron ?? schedulerConfigFromEnv().cron;
  const reload = async () => {
    await d.scorer?.reload().catch(() => false);
  };
  return mountRoutes(
    express.Router(),
    MODELS_ROUTES,
    {
      list: () => listModels(d.store, d.modelsDir),
      rollback: async (_req, res, { body }) => {
        const out = rollbackModel(d.store, d.modelsDir, actorOf(res), body.reason);
        await reload();
        return out;
      },
      endTrial: (_req, res, { body }) => endTrial(d.store, d.modelsDir, actorOf(res), body.reason),
      show: (_req, _res, { params }) => showModel(d.store, d.modelsDir, params.id),
      promote: async (_req, res, { params, body }) => {
        const out = promoteModel(d.store, d.modelsDir, params.id, actorOf(res), body.reason);
        await reload();
        return out;
      },
      trial: (_req, res, { params, body }) =>
        startTrial(d.store, d.modelsDir, params.id, actorOf(res), body.reason, body.ab_share ?? 0),
      shadow: () => shadowReport(d.store),
      jobs: () => ({ jobs: describeJobs(d.store, cronOf(), d.running?.()) }),
      drift: () =>
        d.drift
          ? { enabled: true, ...d.drift.report() }
          : { enabled: false, reason: 'drift monitoring is not running in this process' },
    },
    {
      requireScope: d.requireScope,
      mapError: (err) =>
        err instanceof ModelOpError
          ? new HttpError(err.status, err.status === 404 ? 'not_found' : 'conflict', err.message)
          : undefined,
    },
  );
}

/** The model-management routes' part of /openapi.json (components named Model…). */
export function modelsOpenApi(): OpenApiExtras {
  return {
    schemas: {
      ModelList: ModelListSchema,
      ModelDetail: ModelDetailSchema,
      ModelChampionChange: ChampionChangeSchema,
      ModelTrialStarted: TrialStartedSchema,
      ModelTrialEnded: TrialEndedSchema,
      ModelShadowReport: ShadowReportSchema,
      ModelJobs: JobsSchema,
      ModelDrift: DriftSchema,
    },
    ...describeRoutes(MODELS_ROUTES),
  };
}
