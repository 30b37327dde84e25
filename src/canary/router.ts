/**
 * HTTP edge of the canary decisions, mounted by the API app after authentication. Every body is validated
 * with zod; bad input gets 400 `{error: 'invalid_request', details: [{path, message}]}` and touches no state.
 */
import express, { type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { findKey, type Principal } from '../api/auth.ts';
import { HttpError } from '../api/errors.ts';
import { invalidRequest } from '../errors.ts';
import type { ApiKey } from '../config.ts';
import { COMMON_ERRORS, READ_ERRORS, json, jsonAnyOf, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes, type OperationDoc, type RouteHandler } from '../api/route.ts';
import type { Store } from '../store/types.ts';
import { argoBody, argoQueryToRequest, toArgoResult } from './argo.ts';
import { FlaggerHooks } from './flagger-hooks.ts';
import {
  CanaryDecisionRequest,
  CanaryDecisionResponse,
  CanaryOutcomeRequest,
  FlaggerHook,
  FlaggerWebhookRequest,
  KayentaJudgeRequest,
  KayentaJudgeResponse,
  ArgoResult,
  ArgoQuery,
  RolloutHistoryQuery,
} from './schemas.ts';
import * as canarySchemas from './schemas.ts';
import { CanaryService, type CanaryServiceDeps } from './service.ts';

export interface CanaryDeps {
  store: Store;
  riskLookup?: (repo: string, headSha: string) => Promise<number | undefined>;
  /** Prior when no risk is known (default 0.2). */
  defaultRisk?: number;
  /** Enables Prometheus-sourced metrics (`query` in a metric spec). */
  prometheusUrl?: string;
  /** Limits and templates for those queries (config `prometheusQueries`). */
  prometheusQueries?: CanaryServiceDeps['prometheusQueries'];
  /** Flagger pre-rollout bar on predicted failure risk (default 0.7). */
  preRolloutMaxRisk?: number;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  /** Clock override for tests. */
  now?: () => number;
  /** The configured keys, for Flagger hooks that carry the token in their metadata (no headers in Flagger). */
  apiKeys?: readonly ApiKey[];
  onDecision?: CanaryServiceDeps['onDecision'];
  inputsLog?: CanaryServiceDeps['inputsLog'];
}

/** Flagger hook paths may arrive without an Authorization header: the key is in the body (see flaggerAuth). */
export const isFlaggerHookPath = (path: string): boolean => path.startsWith('/v1/canary/flagger/');

const judgeDoc = (operationId: string, summary: string): OperationDoc => ({
  operationId,
  summary,
  responses: {
    '200': json(
      'CanaryKayentaJudgeResponse',
      'Kayenta CanaryJudgeResult: per-metric classification, group scores and the overall score',
    ),
    ...COMMON_ERRORS,
  },
});
const decisionBody = { name: 'CanaryDecisionRequest', schema: CanaryDecisionRequest };
const judgeBody = { name: 'CanaryKayentaJudgeRequest', schema: KayentaJudgeRequest };

/** The canary routes: what each takes and answers, for validation and /openapi.json alike. */
export const CANARY_ROUTES = routes({
  decision: {
    method: 'post',
    path: '/v1/canary/decision',
    scope: 'score',
    body: decisionBody,
    doc: {
      operationId: 'canaryDecision',
      summary:
        'Next canary step (increase / hold / rollback / promote) from the metric comparison and the predicted failure risk',
      responses: {
        '200': json('CanaryDecisionResponse', 'the decision with per-metric results and reasons'),
        ...COMMON_ERRORS,
      },
    },
  },
  argoGet: {
    method: 'get',
    path: '/v1/canary/argo',
    scope: 'score',
    query: ArgoQuery,
    doc: {
      operationId: 'canaryArgoGet',
      summary: 'Argo Rollouts web metric provider (GET form: the decision request as query parameters)',
      responses: {
        '200': json(
          'CanaryArgoResult',
          'successCondition: result.decision == "pass"; failureCondition: result.decision == "fail"',
        ),
        ...READ_ERRORS,
      },
    },
  },
  argoPost: {
    method: 'post',
    path: '/v1/canary/argo',
    scope: 'score',
    body: { ...decisionBody, prepare: argoBody },
    doc: {
      operationId: 'canaryArgoPost',
      summary: 'Argo Rollouts web metric provider (POST form: the decision request as jsonBody)',
      responses: {
        '200': json('CanaryArgoResult', 'the decision in the shape Argo analyses read'),
        ...COMMON_ERRORS,
      },
    },
  },
  flagger: {
    method: 'post',
    path: '/v1/canary/flagger/:hook',
    scope: 'score',
    params: { hook: FlaggerHook.describe('the Flagger webhook type') },
    body: { name: 'CanaryFlaggerWebhookRequest', schema: FlaggerWebhookRequest },
    doc: {
      operationId: 'canaryFlaggerHook',
      summary: 'Flagger webhook (every hook type); Flagger reads only the status code (≤ 202: yes, else no)',
      description:
        'Authenticated by the API key in `metadata.token` (Flagger cannot send headers) or a bearer token. confirm-rollout / pre-rollout: 200 when the predicted risk is at most the pre-rollout bar (0.7), else 409 (confirm-rollout: Flagger waits) or 403 (pre-rollout: a failed check). rollout / confirm-traffic-increase / confirm-promotion / rollback: 200 when the judgement of the step Flagger is at says yes, else 409; 503 when metrics are unavailable. post-rollout records the outcome (phase Succeeded / Failed); event records the event.',
      responses: {
        '200': jsonAnyOf(
          ['CanaryFlaggerPreRolloutResponse', 'CanaryFlaggerHookResponse', 'CanaryFlaggerRecordResponse'],
          'go ahead',
        ),
        ...COMMON_ERRORS,
        '403': jsonAnyOf(
          ['CanaryFlaggerPreRolloutResponse', 'Error'],
          'pre-rollout: predicted risk above the bar; or forbidden: the key lacks the score scope or may not write this rollout',
        ),
        '409': jsonAnyOf(
          ['CanaryFlaggerHookResponse', 'CanaryFlaggerPreRolloutResponse'],
          'the judgement says no (hold, keep going, not yet); confirm-rollout: risk above the bar',
        ),
        '503': json(
          'CanaryFlaggerHookResponse',
          "metrics unavailable (Flagger retries per the hook's `retries`, then counts a failed check)",
        ),
      },
    },
  },
  judge: {
    method: 'post',
    path: '/judge',
    scope: 'score',
    body: judgeBody,
    doc: judgeDoc('kayentaJudge', 'Kayenta remote judge (the path Kayenta calls)'),
  },
  judgeV1: {
    method: 'post',
    path: '/v1/canary/kayenta/judge',
    scope: 'score',
    body: judgeBody,
    doc: judgeDoc('kayentaJudgeV1', 'Kayenta remote judge (same as /judge)'),
  },
  rollouts: {
    method: 'get',
    path: '/v1/canary/rollouts',
    scope: 'report',
    doc: {
      operationId: 'canaryRollouts',
      summary: 'Rollouts seen in the decision log, newest first, with their latest decision and outcome',
      responses: { '200': json('CanaryRolloutsResponse', 'one row per service@version'), ...READ_ERRORS },
    },
  },
  rolloutHistory: {
    method: 'get',
    path: '/v1/canary/rollouts/:service',
    scope: 'report',
    params: { service: z.string().describe('the deployment\'s service (URL-encode a "/")') },
    query: RolloutHistoryQuery,
    doc: {
      operationId: 'canaryRolloutHistory',
      summary: "A service's canary decisions, newest first",
      responses: {
        '200': json('CanaryRolloutHistoryResponse', 'the decisions (empty when the service is unknown)'),
        ...READ_ERRORS,
      },
    },
  },
  outcome: {
    method: 'post',
    path: '/v1/canary/outcome',
    scope: 'score',
    body: { name: 'CanaryOutcomeRequest', schema: CanaryOutcomeRequest },
    doc: {
      operationId: 'canaryOutcome',
      summary: 'Final outcome of a rollout: an audit event, and a run record (training data) when the repo is known',
      responses: { '201': json('CanaryOutcomeResponse', 'recorded'), ...COMMON_ERRORS },
    },
  },
});

export function createCanaryRouter(deps: CanaryDeps): Router {
  const svc = new CanaryService(deps);
  const hooks = new FlaggerHooks(svc, deps);

  // Flagger cannot send headers: without a bearer token the key's token is read from the hook's metadata.
  const flaggerAuth: RequestHandler = (req, res, next) => {
    if (res.locals.principal) return next();
    const meta: unknown = (req.body as { metadata?: unknown } | undefined)?.metadata;
    const token = meta && typeof meta === 'object' ? (meta as Record<string, unknown>).token : undefined;
    if (typeof token !== 'string' || token === '') {
      return next(
        new HttpError(
          401,
          'unauthorized',
          'Flagger hooks authenticate with the API key in the webhook metadata (`token`), as Flagger cannot send headers',
        ),
      );
    }
    const key = findKey(deps.apiKeys ?? [], token);
    if (!key) return next(new HttpError(401, 'unauthorized', 'unknown API key (metadata.token)'));
    res.locals.principal = {
      name: key.name,
      scopes: key.scopes,
      services: key.services,
      repos: key.repos,
    } satisfies Principal;
    next();
  };

  const decide = (request: CanaryDecisionRequest, res: Response) =>
    svc.decide(request, { writer: res.locals.principal as Principal });

  const flagger: RouteHandler<(typeof CANARY_ROUTES)['flagger']> = async (_req, res, { params, body }) => {
    const answer = await hooks.handle(params.hook, body, res.locals.principal as Principal);
    res.status(answer.status).json(answer.body);
  };

  // The request as sent is what gets recorded: the parsed one holds Maps (group weights, tags).
  const kayenta: RouteHandler<(typeof CANARY_ROUTES)['judge']> = (req, _res, { body }) =>
    svc.judgeKayenta(body, req.body as Record<string, unknown>);

  return mountRoutes(express.Router(), CANARY_ROUTES, {
    decision: (_req, res, { body }) => decide(body, res),
    argoGet: async (_req, res, { query }) => {
      const r = argoQueryToRequest(query);
      if (!r.ok) throw invalidRequest(r.error, r.prefix);
      return toArgoResult(await decide(r.value, res));
    },
    argoPost: async (_req, res, { body }) => toArgoResult(await decide(body, res)),
    flagger: { before: [flaggerAuth], handler: flagger },
    judge: kayenta,
    judgeV1: kayenta,
    rollouts: () => ({ rollouts: svc.listRollouts() }),
    rolloutHistory: (_req, _res, { params, query }) => ({
      service: params.service,
      decisions: svc.history(params.service, query.limit),
    }),
    outcome: (_req, res, { body }) => {
      res.status(201).json(svc.recordOutcome(body, res.locals.principal as Principal));
    },
  });
}

/** Schemas for the OpenAPI document (pass as `openapi.schemas` to createApp). */
export const canaryOpenApiSchemas = {
  CanaryDecisionRequest,
  CanaryDecisionResponse,
  CanaryOutcomeRequest,
  ArgoResult,
  FlaggerWebhookRequest,
  KayentaJudgeRequest,
  KayentaJudgeResponse,
};

/** Component name of a canary schema export, as `riskgate serve` names them: `Canary` + the export without `Schema`. */
export const canaryComponentName = (exportName: string): string => {
  const base = exportName.replace(/Schema$/, '');
  return base.startsWith('Canary') ? base : `Canary${base}`;
};

/**
 * The canary routes' part of /openapi.json: every zod export of schemas.ts as a component and the path
 * items of CANARY_ROUTES (request bodies as their input side), so a route and its documentation change together.
 */
export function canaryOpenApi(): OpenApiExtras {
  const schemas: Record<string, z.ZodType> = {};
  for (const [name, v] of Object.entries(canarySchemas))
    if (v instanceof z.ZodType) schemas[canaryComponentName(name)] = v;
  return { schemas, ...describeRoutes(CANARY_ROUTES) };
}
