/**
 * Argo Rollouts web metric provider. An AnalysisTemplate calls us (GET with query parameters, or POST with
 * `jsonBody`) and tests `result.decision`: "pass" → successCondition, "fail" → failureCondition, and
 * "inconclusive" makes both false, which Argo records as an Inconclusive measurement (the rollout pauses).
 */
import { z } from 'zod';
import { CanaryDecisionRequest, type ArgoQuery, type CanaryDecisionResponse } from './schemas.ts';

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
  const decision =
    d.action === 'rollback' ? 'fail' : d.action === 'increase' || d.action === 'promote' ? 'pass' : 'inconclusive';
  return {
    decision,
    action: d.action,
    next_weight: d.next_weight,
    score: d.score,
    confidence: d.confidence,
    risk: d.risk,
    reasons: d.reasons,
  };
}

/**
 * Argo resolves `{{args.x}}` by text substitution into the metric's JSON (argo-rollouts
 * utils/analysis/factory.go ResolveMetricArgs), and arg values are strings, so `current_weight:
 * "{{args.weight}}"` arrives as `"20"`. The POST form therefore accepts a numeric string wherever the
 * decision request has a number (and "true"/"false" for `critical`), strictly: the whole string must be a
 * decimal number, so `""` (an arg resolved to nothing) or `"20%"` is still a 400 naming the field.
 */
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const num = (v: unknown): unknown => (typeof v === 'string' && NUMERIC.test(v) ? Number(v) : v);
const bool = (v: unknown): unknown => (v === 'true' ? true : v === 'false' ? false : v);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function coerce(
  o: Record<string, unknown>,
  numbers: readonly string[],
  booleans: readonly string[] = [],
): Record<string, unknown> {
  const out = { ...o };
  for (const k of numbers) if (Object.hasOwn(out, k)) out[k] = num(out[k]);
  for (const k of booleans) if (Object.hasOwn(out, k)) out[k] = bool(out[k]);
  return out;
}

/** The Argo POST body with Argo's string-typed args read as the numbers (and booleans) they stand for. */
export function argoBody(body: unknown): unknown {
  if (!isObject(body)) return body;
  const out = coerce(body, ['current_weight', 'elapsed_s', 'risk']);
  if (isObject(out.prometheus)) out.prometheus = coerce(out.prometheus, ['window_s', 'step_s']);
  if (isObject(out.policy)) {
    const p = coerce(out.policy, ['max_weight', 'min_step', 'max_step', 'max_interval_s']);
    if (Array.isArray(p.steps)) p.steps = p.steps.map(num);
    out.policy = p;
  }
  if (Array.isArray(out.metrics))
    out.metrics = out.metrics.map((m) =>
      isObject(m) ? coerce(m, ['weight', 'max_change', 'threshold', 'margin'], ['critical']) : m,
    );
  return out;
}

/** Turns validated GET query parameters into a decision request; zod issues carry `query.<field>` paths. */
export function argoQueryToRequest(
  query: z.output<typeof ArgoQuery>,
): { ok: true; value: CanaryDecisionRequest } | { ok: false; error: z.ZodError; prefix: string[] } {
  let metrics: unknown;
  try {
    metrics = JSON.parse(query.metrics);
  } catch {
    return {
      ok: false,
      error: new z.ZodError([
        { code: 'custom', path: ['metrics'], message: 'must be a JSON array of metric specs', input: query.metrics },
      ]),
      prefix: ['query'],
    };
  }
  const req = CanaryDecisionRequest.safeParse({
    deployment: { service: query.service, version: query.version, repo: query.repo, head_sha: query.head_sha },
    current_weight: query.weight,
    elapsed_s: query.elapsed_s,
    risk: query.risk,
    metrics: z.array(z.unknown()).safeParse(metrics).success ? metrics : undefined,
    prometheus: query.window_s ? { window_s: query.window_s } : undefined,
  });
  if (!req.success) return { ok: false, error: req.error, prefix: ['query'] };
  return { ok: true, value: req.data };
}
