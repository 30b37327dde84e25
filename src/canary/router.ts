/**
 * HTTP edge of the canary decisions, mounted by the API app after authentication. Every body is validated
 * with zod; bad input gets 400 `{error: 'invalid_request', details: [{path, message}]}` and touches no state.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { requireScope } from '../api/auth.ts';
import { sendError, zodDetails } from '../api/errors.ts';
import type { Store } from '../store/types.ts';
import { argoQueryToRequest, toArgoResult } from './argo.ts';
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
} from './schemas.ts';
import { CanaryService } from './service.ts';

export interface CanaryDeps {
  store: Store;
  riskLookup?: (repo: string, headSha: string) => Promise<number | undefined>;
  /** Prior when no risk is known (default 0.2). */
  defaultRisk?: number;
  /** Enables Prometheus-sourced metrics (`query` in a metric spec). */
  prometheusUrl?: string;
  /** Flagger pre-rollout bar on predicted failure risk (default 0.7). */
  preRolloutMaxRisk?: number;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  /** Clock override for tests. */
  now?: () => number;
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
      const b = parse(CanaryDecisionRequest, req.body, res);
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
      request: body as unknown as Record<string, unknown>,
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
