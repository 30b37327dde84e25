/**
 * Argo Rollouts web metric provider. An AnalysisTemplate calls us (GET with query parameters, or POST with
 * `jsonBody`) and tests `result.decision`: "pass" → successCondition, "fail" → failureCondition, and
 * "inconclusive" makes both false, which Argo records as an Inconclusive measurement (the rollout pauses).
 */
import { z } from 'zod';
import { ArgoQuery, CanaryDecisionRequest, type CanaryDecisionResponse } from './schemas.ts';

export type ArgoResultBody = {
  decision: 'pass' | 'fail' | 'inconclusive';
  action: CanaryDecisionResponse['action'];
  next_weight: number;
  score: number;
  confidence: number;
  risk: number;
  reasons: string[];
};

export function toArgoResult(d: CanaryDecisionResponse): ArgoResultBody {
  const decision = d.action === 'rollback' ? 'fail' : d.action === 'increase' || d.action === 'promote' ? 'pass' : 'inconclusive';
  return { decision, action: d.action, next_weight: d.next_weight, score: d.score, confidence: d.confidence, risk: d.risk, reasons: d.reasons };
}

/** Turns GET query parameters into a decision request; zod issues carry `query.<field>` paths. */
export function argoQueryToRequest(query: unknown): { ok: true; value: CanaryDecisionRequest } | { ok: false; error: z.ZodError; prefix: string[] } {
  const q = ArgoQuery.safeParse(query);
  if (!q.success) return { ok: false, error: q.error, prefix: ['query'] };
  let metrics: unknown;
  try {
    metrics = JSON.parse(q.data.metrics);
  } catch {
    return {
      ok: false,
      error: new z.ZodError([{ code: 'custom', path: ['metrics'], message: 'must be a JSON array of metric specs', input: q.data.metrics }]),
      prefix: ['query'],
    };
  }
  const req = CanaryDecisionRequest.safeParse({
    deployment: { service: q.data.service, version: q.data.version, repo: q.data.repo, head_sha: q.data.head_sha },
    current_weight: q.data.weight,
    elapsed_s: q.data.elapsed_s,
    risk: q.data.risk,
    metrics: z.array(z.unknown()).safeParse(metrics).success ? metrics : undefined,
    prometheus: q.data.window_s ? { window_s: q.data.window_s } : undefined,
  });
  if (!req.success) return { ok: false, error: req.error, prefix: ['query'] };
  return { ok: true, value: req.data };
}

