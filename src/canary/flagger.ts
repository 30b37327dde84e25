/**
 * Flagger webhooks. Flagger POSTs `{name, namespace, phase, checksum, metadata}` and reads only the status
 * code: 200–202 means yes, anything else no. Metric queries, thresholds and the release's identity come
 * from the Canary resource's webhook `metadata` (a string map), so JSON-valued fields arrive as strings.
 */
import { z } from 'zod';
import { CanaryDecisionRequest, type CanaryDecisionResponse } from './schemas.ts';

export type FlaggerHookName = 'confirm-traffic-increase' | 'confirm-promotion' | 'pre-rollout' | 'rollback';

export interface FlaggerBody {
  name: string;
  namespace: string;
  phase?: string;
  checksum?: string;
  metadata?: Record<string, string>;
}

/** Metadata keys Riskgate reads. */
const Meta = z.object({
  service: z.string().optional(),
  version: z.string().optional(),
  repo: z.string().optional(),
  head_sha: z.string().optional(),
  risk: z.coerce.number().min(0).max(1).optional(),
  weight: z.coerce.number().min(0).max(100).optional(),
  window_s: z.coerce.number().int().positive().max(86_400).optional(),
  max_interval_s: z.coerce.number().positive().optional(),
  max_weight: z.coerce.number().min(1).max(100).optional(),
  metrics: z.string().optional(),
});

export function serviceOf(b: FlaggerBody): string {
  return b.metadata?.service ?? `${b.namespace}/${b.name}`;
}
export function versionOf(b: FlaggerBody): string {
  return b.metadata?.version ?? b.checksum ?? 'unknown';
}

/**
 * Builds the decision request from the webhook. `currentWeight`/`elapsedS` come from Riskgate's own record
 * of the rollout, since Flagger does not send them.
 */
export function flaggerToRequest(
  b: FlaggerBody,
  currentWeight: number,
  elapsedS: number,
): { ok: true; value: CanaryDecisionRequest } | { ok: false; error: z.ZodError; prefix: string[] } {
  const m = Meta.safeParse(b.metadata ?? {});
  if (!m.success) return { ok: false, error: m.error, prefix: ['metadata'] };
  let metrics: unknown = undefined;
  if (m.data.metrics !== undefined) {
    try {
      metrics = JSON.parse(m.data.metrics);
    } catch {
      return {
        ok: false,
        error: new z.ZodError([{ code: 'custom', path: ['metrics'], message: 'must be a JSON array of metric specs (as a string)', input: m.data.metrics }]),
        prefix: ['metadata'],
      };
    }
  }
  const req = CanaryDecisionRequest.safeParse({
    deployment: { service: serviceOf(b), version: versionOf(b), repo: m.data.repo, head_sha: m.data.head_sha },
    current_weight: m.data.weight ?? currentWeight,
    elapsed_s: elapsedS,
    risk: m.data.risk,
    metrics,
    policy: m.data.max_interval_s || m.data.max_weight ? { max_interval_s: m.data.max_interval_s, max_weight: m.data.max_weight } : undefined,
    prometheus: m.data.window_s ? { window_s: m.data.window_s } : undefined,
  });
  if (!req.success) return { ok: false, error: req.error, prefix: ['metadata'] };
  return { ok: true, value: req.data };
}

/** The status code Flagger sees for a decision on a given hook. */
export function hookStatus(hook: Exclude<FlaggerHookName, 'pre-rollout'>, d: CanaryDecisionResponse): { status: number; allowed: boolean } {
  const yes =
    hook === 'confirm-traffic-increase'
      ? d.action === 'increase' || d.action === 'promote'
      : hook === 'confirm-promotion'
        ? d.action === 'promote' || d.verdict === 'pass'
        : d.action === 'rollback';
  // 409: the request is fine, the rollout's current state says no.
  return { status: yes ? 200 : 409, allowed: yes };
}
