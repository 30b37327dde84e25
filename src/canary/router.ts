/**
 * HTTP edge of the canary decisions, mounted by the API app after authentication. Every body is validated
 * with zod; bad input gets 400 `{error: 'invalid_request', details: [{path, message}]}` and touches no state.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { requireScope } from '../api/auth.ts';
import { sendError, zodDetails } from '../api/errors.ts';
import { COMMON_ERRORS, READ_ERRORS, body, json, jsonAnyOf, secured, zodParameters, zodPathParam, type OpenApiExtras } from '../api/openapi.ts';
import type { Store } from '../store/types.ts';
import { argoBody, argoQueryToRequest, toArgoResult } from './argo.ts';
import { flaggerToRequest, hookStatus, serviceOf, versionOf, type FlaggerHookName } from './flagger.ts';
import { kayentaJudge } from './kayenta.ts';
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
  onDecision?: CanaryServiceDeps['onDecision'];
  inputsLog?: CanaryServiceDeps['inputsLog'];
}

function invalid(res: Response, err: z.ZodError, prefix: (string | number)[] = []): void {
  sendError(res, 400, 'invalid_request', 'request failed validation', zodDetails(err, prefix));
}

function parse<T extends z.ZodType>(schema: T, value: unknown, res: Response, prefix: (string | number)[] = []): z.output<T> | undefined {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    invalid(res, r.error, prefix);
    return undefined;
  }
  return r.data;
}

export function createCanaryRouter(deps: CanaryDeps): Router {
  const router = express.Router();
  const svc = new CanaryService(deps);
  const bar = deps.preRolloutMaxRisk ?? 0.7;
  const score = requireScope('score');
  const report = requireScope('report');

  router.post('/v1/canary/decision', score, async (req, res) => {
    const body = parse(CanaryDecisionRequest, req.body, res);
    if (!body) return;
    res.json(await svc.decide(body));
  });

  const argo = async (req: Request, res: Response, source: 'query' | 'body'): Promise<void> => {
    let request: CanaryDecisionRequest;
    if (source === 'query') {
      const r = argoQueryToRequest(req.query);
      if (!r.ok) return invalid(res, r.error, r.prefix);
      request = r.value;
    } else {
      const b = parse(CanaryDecisionRequest, argoBody(req.body), res);
      if (!b) return;
      request = b;
    }
    res.json(toArgoResult(await svc.decide(request)));
  };
  router.get('/v1/canary/argo', score, (req, res) => argo(req, res, 'query'));
  router.post('/v1/canary/argo', score, (req, res) => argo(req, res, 'body'));

  router.post('/v1/canary/flagger/:hook', score, async (req, res) => {
    const hook = FlaggerHook.safeParse(req.params.hook);
    if (!hook.success) return invalid(res, hook.error, ['params', 'hook']);
    const body = parse(FlaggerWebhookRequest, req.body, res);
    if (!body) return;
    const name: FlaggerHookName = hook.data;

    if (name === 'pre-rollout') {
      const meta = body.metadata ?? {};
      const given = meta.risk !== undefined ? Number(meta.risk) : undefined;
      if (given !== undefined && !(given >= 0 && given <= 1)) {
        return sendError(res, 400, 'invalid_request', 'request failed validation', [{ path: 'metadata.risk', message: 'must be a number between 0 and 1' }]);
      }
      const { risk, source } = await svc.resolveRisk({ risk: given, deployment: { repo: meta.repo, head_sha: meta.head_sha } });
      const ok = risk <= bar;
      deps.store.appendEvent('canary_pre_rollout', serviceOf(body), { version: versionOf(body), risk, source, bar, allowed: ok });
      res.status(ok ? 200 : 403).json({
        allowed: ok,
        risk,
        risk_source: source,
        reason: ok ? `predicted failure risk ${risk.toFixed(2)} ≤ bar ${bar}` : `predicted failure risk ${risk.toFixed(2)} is above the pre-rollout bar ${bar}`,
      });
      return;
    }

    // Flagger sends neither the weight nor the time at it; Riskgate's record of the rollout supplies both.
    const prev = svc.loadRollout(serviceOf(body), versionOf(body));
    const now = deps.now ? deps.now() : Date.now();
    const r = flaggerToRequest(body, prev?.weight ?? 0, prev ? (now - prev.changed_at) / 1000 : 0);
    if (!r.ok) return invalid(res, r.error, r.prefix);
    const windowMs = (r.value.prometheus?.window_s ?? 60) * 1000;
    const d = await svc.decide(r.value, { reuseWithinMs: windowMs * 0.9 });
    const { status, allowed } = hookStatus(name, d);
    res.status(status).json({ allowed, hook: name, action: d.action, next_weight: d.next_weight, score: d.score, reasons: d.reasons });
  });

  const kayenta = (req: Request, res: Response): void => {
    const body = parse(KayentaJudgeRequest, req.body, res);
    if (!body) return;
    const result = kayentaJudge(body);
    deps.store.appendEvent('canary_kayenta_judge', body.canaryConfig.name ?? 'kayenta', {
      // The request as sent: the parsed one holds Maps (group weights, tags), which JSON would print as {}.
      request: req.body as Record<string, unknown>,
      score: result.score,
    });
    res.json(result);
  };
  router.post('/judge', score, kayenta);
  router.post('/v1/canary/kayenta/judge', score, kayenta);

  router.get('/v1/canary/rollouts', report, (_req, res) => {
    res.json({ rollouts: svc.listRollouts() });
  });
  router.get('/v1/canary/rollouts/:service', report, (req, res) => {
    const limit = req.query.limit === undefined ? 200 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) {
      return sendError(res, 400, 'invalid_request', 'request failed validation', [{ path: 'query.limit', message: 'must be an integer 1–5000' }]);
    }
    res.json({ service: req.params.service, decisions: svc.history(String(req.params.service), limit) });
  });

  router.post('/v1/canary/outcome', score, (req, res) => {
    const body = parse(CanaryOutcomeRequest, req.body, res);
    if (!body) return;
    res.status(201).json(svc.recordOutcome(body));
  });

  return router;
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
 * The canary routes' part of /openapi.json: every zod export of schemas.ts as a component (requests as
 * their input side) and a path entry per route above, so a route and its documentation change together.
 */
export function canaryOpenApi(): OpenApiExtras {
  const schemas: Record<string, z.ZodType> = {};
  for (const [name, v] of Object.entries(canarySchemas)) if (v instanceof z.ZodType) schemas[canaryComponentName(name)] = v;
  const requestSchemas = { CanaryDecisionRequest, CanaryOutcomeRequest, CanaryFlaggerWebhookRequest: FlaggerWebhookRequest, CanaryKayentaJudgeRequest: KayentaJudgeRequest };
  const judge = (operationId: string, summary: string) => ({
    post: {
      operationId,
      summary,
      ...secured('score'),
      requestBody: body('CanaryKayentaJudgeRequest'),
      responses: { '200': json('CanaryKayentaJudgeResponse', 'Kayenta CanaryJudgeResult: per-metric classification, group scores and the overall score'), ...COMMON_ERRORS },
    },
  });
  const paths: Record<string, Record<string, unknown>> = {
    '/v1/canary/decision': {
      post: {
        operationId: 'canaryDecision',
        summary: 'Next canary step (increase / hold / rollback / promote) from the metric comparison and the predicted failure risk',
        ...secured('score'),
        requestBody: body('CanaryDecisionRequest'),
        responses: { '200': json('CanaryDecisionResponse', 'the decision with per-metric results and reasons'), ...COMMON_ERRORS },
      },
    },
    '/v1/canary/argo': {
      get: {
        operationId: 'canaryArgoGet',
        summary: 'Argo Rollouts web metric provider (GET form: the decision request as query parameters)',
        ...secured('score'),
        parameters: zodParameters(ArgoQuery, 'query'),
        responses: { '200': json('CanaryArgoResult', 'successCondition: result.decision == "pass"; failureCondition: result.decision == "fail"'), ...READ_ERRORS },
      },
      post: {
        operationId: 'canaryArgoPost',
        summary: 'Argo Rollouts web metric provider (POST form: the decision request as jsonBody)',
        ...secured('score'),
        requestBody: body('CanaryDecisionRequest'),
        responses: { '200': json('CanaryArgoResult', 'the decision in the shape Argo analyses read'), ...COMMON_ERRORS },
      },
    },
    '/v1/canary/flagger/{hook}': {
      post: {
        operationId: 'canaryFlaggerHook',
        summary: 'Flagger webhook; Flagger reads only the status code (2xx: go ahead, else not)',
        description:
          'pre-rollout: 200 when the predicted risk is at most the pre-rollout bar (0.7), else 403 with the same body. confirm-traffic-increase / confirm-promotion / rollback: 200 when the decision says yes, else 409 with the same body.',
        ...secured('score'),
        parameters: [zodPathParam('hook', FlaggerHook, 'the Flagger webhook type')],
        requestBody: body('CanaryFlaggerWebhookRequest'),
        responses: {
          '200': jsonAnyOf(['CanaryFlaggerPreRolloutResponse', 'CanaryFlaggerHookResponse'], 'go ahead'),
          ...COMMON_ERRORS,
          '403': jsonAnyOf(['CanaryFlaggerPreRolloutResponse', 'Error'], 'pre-rollout: predicted risk above the bar; or forbidden: the key lacks the score scope'),
          '409': json('CanaryFlaggerHookResponse', 'the decision says no (hold, keep going, not yet)'),
        },
      },
    },
    '/judge': judge('kayentaJudge', 'Kayenta remote judge (the path Kayenta calls)'),
    '/v1/canary/kayenta/judge': judge('kayentaJudgeV1', 'Kayenta remote judge (same as /judge)'),
    '/v1/canary/outcome': {
      post: {
        operationId: 'canaryOutcome',
        summary: 'Final outcome of a rollout: an audit event, and a run record (training data) when the repo is known',
        ...secured('score'),
        requestBody: body('CanaryOutcomeRequest'),
        responses: { '201': json('CanaryOutcomeResponse', 'recorded'), ...COMMON_ERRORS },
      },
    },
    '/v1/canary/rollouts': {
      get: {
        operationId: 'canaryRollouts',
        summary: 'Rollouts seen in the decision log, newest first, with their latest decision and outcome',
        ...secured('report'),
        responses: { '200': json('CanaryRolloutsResponse', 'one row per service@version'), ...READ_ERRORS },
      },
    },
    '/v1/canary/rollouts/{service}': {
      get: {
        operationId: 'canaryRolloutHistory',
        summary: "A service's canary decisions, newest first",
        ...secured('report'),
        parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string' }, description: 'the deployment\'s service (URL-encode a "/")' }, ...zodParameters(RolloutHistoryQuery, 'query')],
        responses: { '200': json('CanaryRolloutHistoryResponse', 'the decisions (empty when the service is unknown)'), ...READ_ERRORS },
      },
    },
  };
  return { schemas, requestSchemas, paths };
}
