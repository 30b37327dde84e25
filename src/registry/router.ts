import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { COMMON_ERRORS, READ_ERRORS, err, json, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes } from '../api/route.ts';
import type { Scope } from '../config.ts';
import type { Store } from '../store/types.ts';
import type { DriftMonitor } from './drift.ts';
import {
  endTrial,
  listJobs,
  listModels,
  ModelIdSchema,
  promoteModel,
  rollbackModel,
  showModel,
  startTrial,
  trialReport,
  type JobSchedule,
} from './operations.ts';
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
 * Model management over HTTP: the routes validate, call the operations in ./operations.ts (which the CLI
 * uses too) and map their refusals to 404 / 409.
 */
export const ReasonBodySchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why (it goes into the audit log)').max(500),
});
export const TrialBodySchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why (it goes into the audit log)').max(500),
  ab_share: z.number().min(0).max(1).optional(),
});

export interface ModelsRouterDeps {
  store: Store;
  modelsDir: string;
  scorer?: { reload(): Promise<boolean> };
  /** Replaces the scope check (default: the API's requireScope); every route has one. */
  requireScope?: (scope: Scope) => RequestHandler;
  drift?: DriftMonitor;
  /** The schedule shown by GET /v1/jobs: the scheduler's settings (RISKGATE_*_CRON, read at start-up). */
  cron: JobSchedule;
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
      shadow: () => trialReport(d.store),
      jobs: () => listJobs(d.store, d.cron, d.running?.()),
      drift: () =>
        d.drift
          ? { enabled: true, ...d.drift.report() }
          : { enabled: false, reason: 'drift monitoring is not running in this process' },
    },
    // A refused operation (a Refusal: not_found / conflict) is answered 404 / 409 by the app's error handler.
    { requireScope: d.requireScope },
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
