/**
 * HTTP edge of the canary decisions, mounted by the API app after authentication. Every body is validated
 * with zod; bad input gets 400 `{error: 'invalid_request', details: [{path, message}]}` and touches no state.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { findKey, requireScope, type Principal } from '../api/auth.ts';
import { HttpError, sendError, zodDetails } from '../api/errors.ts';
import { assertMayWriteRollout, forbidden, mayWriteService } from '../tenancy.ts';
import type { ApiKey } from '../config.ts';
import {
  COMMON_ERRORS,
  READ_ERRORS,
  body,
  json,
  jsonAnyOf,
  secured,
  zodParameters,
  zodPathParam,
  type OpenApiExtras,
} from '../api/openapi.ts';
import type { Store } from '../store/types.ts';
import { argoBody, argoQueryToRequest, toArgoResult } from './argo.ts';
import {
  flaggerMaxWeight,
  flaggerToRequest,
  flaggerWeightAfterIncrease,
  hookVerdict,
  parseMeta,
  serviceOf,
  versionOf,
  type FlaggerHookName,
} from './flagger.ts';
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
  /** The configured keys, for Flagger hooks that carry the token in their metadata (no headers in Flagger). */
  apiKeys?: readonly ApiKey[];
  onDecision?: CanaryServiceDeps['onDecision'];
  inputsLog?: CanaryServiceDeps['inputsLog'];
}

function invalid(res: Response, err: z.ZodError, prefix: (string | number)[] = []): void {
  sendError(res, 400, 'invalid_request', 'request failed validation', zodDetails(err, prefix));
}

function parse<T extends z.ZodType>(
  schema: T,
  value: unknown,
  res: Response,
  prefix: (string | number)[] = [],
): z.output<T> | undefined {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    invalid(res, r.error, prefix);
    return undefined;
  }
  return r.data;
}

/** Flagger's events (the `event` hook), kept as an audit trail. */
export const FLAGGER_EVENT = 'canary_flagger_event';

/** Flagger hook paths may arrive without an Authorization header: the key is in the body (see flaggerAuth). */
export const isFlaggerHookPath = (path: string): boolean => path.startsWith('/v1/canary/flagger/');

export function createCanaryRouter(deps: CanaryDeps): Router {
  const router = express.Router();
  const svc = new CanaryService(deps);
  const bar = deps.preRolloutMaxRisk ?? 0.7;
  const score = requireScope('score');
  const report = requireScope('report');

  router.post('/v1/canary/decision', score, async (req, res) => {
    const body = parse(CanaryDecisionRequest, req.body, res);
    if (!body) return;
    res.json(await svc.decide(body, { writer: res.locals.principal as Principal }));
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
    res.json(toArgoResult(await svc.decide(request, { writer: res.locals.principal as Principal })));
  };
  router.get('/v1/canary/argo', score, (req, res) => argo(req, res, 'query'));
  router.post('/v1/canary/argo', score, (req, res) => argo(req, res, 'body'));

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

  router.post('/v1/canary/flagger/:hook', flaggerAuth, score, async (req, res) => {
    const hook = FlaggerHook.safeParse(req.params.hook);
    if (!hook.success) return invalid(res, hook.error, ['params', 'hook']);
    const body = parse(FlaggerWebhookRequest, req.body, res);
    if (!body) return;
    const meta = parseMeta(body);
    if (!meta.ok) return invalid(res, meta.error, ['metadata']);
    const name: FlaggerHookName = hook.data;
    const tenant = res.locals.principal as Principal;
    const service = serviceOf(body);
    const version = versionOf(body);
    const owner = (): string | undefined => svc.loadRollout(service, version, true)?.owner;

    if (name === 'event') {
      // Flagger adds eventMessage/eventType/timestamp; only those (bounded) are kept, never the rest of the map.
      if (!mayWriteService(tenant, service))
        throw forbidden(`API key "${tenant.name}" is not bound to service "${service}"`);
      const m = body.metadata ?? {};
      deps.store.appendEvent(FLAGGER_EVENT, service, {
        version,
        phase: body.phase ?? null,
        event_type: (m.eventType ?? '').slice(0, 64),
        message: (m.eventMessage ?? '').slice(0, 2000),
      });
      res.json({ recorded: true, hook: name });
      return;
    }

    if (name === 'post-rollout') {
      assertMayWriteRollout(tenant, service, version, owner());
      const outcome = body.phase === 'Succeeded' ? 'promoted' : body.phase === 'Failed' ? 'rolled_back' : undefined;
      if (!outcome) {
        res.json({ recorded: false, hook: name, reason: `phase ${body.phase ?? '(none)'} is not a rollout's end` });
        return;
      }
      svc.closeFlaggerRollout(service, version);
      const r = svc.recordOutcome({ service, version, outcome, head_sha: meta.value.head_sha }, tenant, {
        flagger: true,
      });
      res.json({ ...r, hook: name, outcome });
      return;
    }

    if (name === 'pre-rollout' || name === 'confirm-rollout') {
      assertMayWriteRollout(tenant, service, version, owner());
      const given = meta.value.risk;
      const { risk, source } = await svc.resolveRisk({
        risk: given,
        deployment: { repo: meta.value.repo, head_sha: meta.value.head_sha },
      });
      const ok = risk <= bar;
      deps.store.appendEvent('canary_pre_rollout', service, { version, hook: name, risk, source, bar, allowed: ok });
      // pre-rollout: a failure is a failed check (Flagger rolls back at its threshold); confirm-rollout: it waits.
      res.status(ok ? 200 : name === 'pre-rollout' ? 403 : 409).json({
        allowed: ok,
        risk,
        risk_source: source,
        reason: ok
          ? `predicted failure risk ${risk.toFixed(2)} ≤ bar ${bar}`
          : `predicted failure risk ${risk.toFixed(2)} is above the pre-rollout bar ${bar}`,
      });
      return;
    }

    // The judging hooks judge the metrics this hook names, at the step Flagger is at (the weight Riskgate saw
    // it confirm, and the time since): never a decision cached from anyone's earlier post.
    if (name === 'confirm-traffic-increase' && !meta.value.stepWeight && !meta.value.stepWeights) {
      return sendError(res, 400, 'invalid_request', 'request failed validation', [
        {
          path: 'metadata.stepWeight',
          message:
            "Flagger never sends the weight: copy the Canary's analysis.stepWeight (or stepWeights) and maxWeight into this hook's metadata",
        },
      ]);
    }
    const prev = svc.loadRollout(service, version, true);
    const weight = prev?.weight ?? 0;
    const now = deps.now ? deps.now() : Date.now();
    const r = flaggerToRequest(body, meta.value, weight, prev ? (now - prev.changed_at) / 1000 : 0);
    if (!r.ok) return invalid(res, r.error, r.prefix);
    const maxWeight = flaggerMaxWeight(meta.value);
    const windowMs = (r.value.prometheus?.window_s ?? 60) * 1000;
    let verdict: ReturnType<typeof hookVerdict> | undefined;
    let at = weight;
    const d = await svc.decide(r.value, {
      writer: tenant,
      flagger: {
        sameLookWithinMs: windowMs * 0.9,
        settle: (dec, stored) => {
          at = stored?.weight ?? 0;
          verdict = hookVerdict(name, dec, at, maxWeight);
          return name === 'confirm-traffic-increase' && verdict.allowed
            ? flaggerWeightAfterIncrease(meta.value, at)
            : undefined;
        },
      },
    });
    const v = verdict ?? hookVerdict(name, d, at, maxWeight);
    res.status(v.status).json({
      allowed: v.allowed,
      hook: name,
      weight: at,
      verdict: d.verdict,
      action: d.action,
      score: d.score,
      reason: v.reason,
      reasons: d.reasons,
      look: d.look,
    });
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
      return sendError(res, 400, 'invalid_request', 'request failed validation', [
        { path: 'query.limit', message: 'must be an integer 1–5000' },
      ]);
    }
    res.json({ service: req.params.service, decisions: svc.history(String(req.params.service), limit) });
  });

  router.post('/v1/canary/outcome', score, (req, res) => {
    const body = parse(CanaryOutcomeRequest, req.body, res);
    if (!body) return;
    res.status(201).json(svc.recordOutcome(body, res.locals.principal as Principal));
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
  for (const [name, v] of Object.entries(canarySchemas))
    if (v instanceof z.ZodType) schemas[canaryComponentName(name)] = v;
  const requestSchemas = {
    CanaryDecisionRequest,
    CanaryOutcomeRequest,
    CanaryFlaggerWebhookRequest: FlaggerWebhookRequest,
    CanaryKayentaJudgeRequest: KayentaJudgeRequest,
  };
  const judge = (operationId: string, summary: string) => ({
    post: {
      operationId,
      summary,
      ...secured('score'),
      requestBody: body('CanaryKayentaJudgeRequest'),
      responses: {
        '200': json(
          'CanaryKayentaJudgeResponse',
          'Kayenta CanaryJudgeResult: per-metric classification, group scores and the overall score',
        ),
        ...COMMON_ERRORS,
      },
    },
  });
  const paths: Record<string, Record<string, unknown>> = {
    '/v1/canary/decision': {
      post: {
        operationId: 'canaryDecision',
        summary:
          'Next canary step (increase / hold / rollback / promote) from the metric comparison and the predicted failure risk',
        ...secured('score'),
        requestBody: body('CanaryDecisionRequest'),
        responses: {
          '200': json('CanaryDecisionResponse', 'the decision with per-metric results and reasons'),
          ...COMMON_ERRORS,
        },
      },
    },
    '/v1/canary/argo': {
      get: {
        operationId: 'canaryArgoGet',
        summary: 'Argo Rollouts web metric provider (GET form: the decision request as query parameters)',
        ...secured('score'),
        parameters: zodParameters(ArgoQuery, 'query'),
        responses: {
          '200': json(
            'CanaryArgoResult',
            'successCondition: result.decision == "pass"; failureCondition: result.decision == "fail"',
          ),
          ...READ_ERRORS,
        },
      },
      post: {
        operationId: 'canaryArgoPost',
        summary: 'Argo Rollouts web metric provider (POST form: the decision request as jsonBody)',
        ...secured('score'),
        requestBody: body('CanaryDecisionRequest'),
        responses: {
          '200': json('CanaryArgoResult', 'the decision in the shape Argo analyses read'),
          ...COMMON_ERRORS,
        },
      },
    },
    '/v1/canary/flagger/{hook}': {
      post: {
        operationId: 'canaryFlaggerHook',
        summary: 'Flagger webhook (every hook type); Flagger reads only the status code (≤ 202: yes, else no)',
        description:
          'Authenticated by the API key in `metadata.token` (Flagger cannot send headers) or a bearer token. confirm-rollout / pre-rollout: 200 when the predicted risk is at most the pre-rollout bar (0.7), else 409 (confirm-rollout: Flagger waits) or 403 (pre-rollout: a failed check). rollout / confirm-traffic-increase / confirm-promotion / rollback: 200 when the judgement of the step Flagger is at says yes, else 409; 503 when metrics are unavailable. post-rollout records the outcome (phase Succeeded / Failed); event records the event.',
        ...secured('score'),
        parameters: [zodPathParam('hook', FlaggerHook, 'the Flagger webhook type')],
        requestBody: body('CanaryFlaggerWebhookRequest'),
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
        parameters: [
          {
            name: 'service',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description: 'the deployment\'s service (URL-encode a "/")',
          },
          ...zodParameters(RolloutHistoryQuery, 'query'),
        ],
        responses: {
          '200': json('CanaryRolloutHistoryResponse', 'the decisions (empty when the service is unknown)'),
          ...READ_ERRORS,
        },
      },
    },
  };
  return { schemas, requestSchemas, paths };
}
