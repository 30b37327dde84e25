/**
 * Flagger webhooks, as Flagger really calls them (fluxcd/flagger at 15bd6ad):
 *  - `pkg/controller/webhook.go` POSTs `CanaryWebhookPayload` `{name, namespace, phase, checksum, metadata}`
 *    with only `Content-Type: application/json` — a `CanaryWebhook` has no headers field — and treats any
 *    status above 202 as a failure (the body becomes the event message); go-retryablehttp retries 5xx and
 *    connection errors `retries` times, never 4xx.
 *  - `pkg/controller/scheduler.go` / `scheduler_hooks.go` decide what a failure means per hook type (see
 *    HOOKS below), and own the traffic weight: it is never sent, so Riskgate infers it from the steps it
 *    confirmed (`stepWeight`/`stepWeights`/`maxWeight`, copied from the Canary's analysis into metadata).
 *  - metadata is a string map: JSON-valued fields arrive as strings; `event` hooks get `eventMessage`,
 *    `eventType` and `timestamp` added by Flagger.
 * Authentication: since Flagger cannot send a header, the key's token goes in `metadata.token`; it is
 * checked like a bearer token (sha256, constant-time compare against every key) and never stored or logged.
 */
import { z } from 'zod';
import { CanaryDecisionRequest, type CanaryDecisionResponse } from './schemas.ts';
import { HIGH_RISK } from './controller.ts';

export const FLAGGER_HOOKS = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
] as const;
export type FlaggerHookName = (typeof FLAGGER_HOOKS)[number];

/**
 * What Flagger does with a non-2xx answer of each hook type (scheduler.go, scheduler_hooks.go at 15bd6ad):
 * Riskgate answers 2xx for "yes" and 409 (not retried) for "no"; 503 only when metrics are unavailable.
 */
export const HOOKS: Record<FlaggerHookName, { yes: string; no: string }> = {
  'confirm-rollout': {
    yes: 'the analysis starts',
    no: 'the canary waits (phase Waiting) and the hook is asked again next interval',
  },
  'pre-rollout': {
    yes: 'traffic is routed to the canary',
    no: 'a failed check; at the analysis threshold Flagger rolls back',
  },
  rollout: { yes: "the interval's check passes", no: 'a failed check; at the analysis threshold Flagger rolls back' },
  'confirm-traffic-increase': {
    yes: 'Flagger raises the weight by its step (at maxWeight: goes on to the promotion gate)',
    no: 'the weight is held, no failed check',
  },
  'confirm-promotion': { yes: 'Flagger promotes', no: 'the canary waits (phase WaitingPromotion) at its weight' },
  'post-rollout': { yes: 'logged', no: 'logged as a warning; nothing else' },
  rollback: { yes: 'Flagger rolls back at once', no: 'the analysis goes on' },
  event: { yes: 'nothing', no: 'nothing (logged)' },
};

export interface FlaggerBody {
  name: string;
  namespace: string;
  phase?: string;
  checksum?: string;
  metadata?: Record<string, string>;
}

const int = (max: number) => z.coerce.number().int().min(0).max(max);

/** Metadata keys Riskgate reads (`token` is read by the router's authentication, never here). */
export const FlaggerMeta = z.object({
  service: z.string().optional(),
  version: z.string().optional(),
  repo: z.string().optional(),
  head_sha: z.string().optional(),
  risk: z.coerce.number().min(0).max(1).optional(),
  window_s: z.coerce.number().int().positive().max(86_400).optional(),
  max_interval_s: z.coerce.number().positive().optional(),
  // The Canary's `analysis.stepWeight`, `analysis.stepWeights` (comma-separated or a JSON array) and
  // `analysis.maxWeight`, under Flagger's own names: Riskgate cannot see the Canary resource.
  stepWeight: int(100).optional(),
  stepWeights: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const list = v.trim().startsWith('[') ? (JSON.parse(v) as unknown) : v.split(',').map((x) => Number(x.trim()));
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.some((x, i) => !Number.isInteger(x) || x < 1 || x > 100 || (i > 0 && x <= list[i - 1]))
      ) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be strictly increasing integer weights 1–100, e.g. "1,2,10,80"',
        });
        return z.NEVER;
      }
      return list as number[];
    }),
  maxWeight: int(100).optional(),
  metrics: z.string().optional(),
});
export type FlaggerMeta = z.output<typeof FlaggerMeta>;

export function parseMeta(b: FlaggerBody): { ok: true; value: FlaggerMeta } | { ok: false; error: z.ZodError } {
  try {
    const m = FlaggerMeta.safeParse(b.metadata ?? {});
    return m.success ? { ok: true, value: m.data } : { ok: false, error: m.error };
  } catch {
    return {
      ok: false,
      error: new z.ZodError([
        {
          code: 'custom',
          path: ['stepWeights'],
          message: 'must be a JSON array or a comma-separated list of weights',
          input: undefined,
        },
      ]),
    };
  }
}

export function serviceOf(b: FlaggerBody): string {
  return b.metadata?.service ?? `${b.namespace}/${b.name}`;
}
/** Flagger's checksum changes with each new revision, so evidence never carries over between revisions. */
export function versionOf(b: FlaggerBody): string {
  return b.metadata?.version ?? (b.checksum || 'unknown');
}

/** Flagger's stepping (scheduler.go `maxWeight`, `nextStepWeight`, and `runCanary`'s increment), ported. */
export function flaggerMaxWeight(m: Pick<FlaggerMeta, 'stepWeights' | 'maxWeight'>): number {
  if (m.stepWeights?.length) return Math.min(100, m.stepWeights[m.stepWeights.length - 1]);
  return m.maxWeight && m.maxWeight > 0 ? m.maxWeight : 100;
}
export function flaggerNextStep(m: Pick<FlaggerMeta, 'stepWeight' | 'stepWeights'>, weight: number): number {
  const steps = m.stepWeights ?? [];
  if ((m.stepWeight ?? 0) > 0 || steps.length === 0) return m.stepWeight ?? 0;
  const maxStep = 100 - weight;
  if (maxStep === 0) return 1;
  if (weight === 0) return Math.min(maxStep, steps[0]);
  for (let i = 0; i < steps.length - 1; i++) if (steps[i] === weight) return Math.min(maxStep, steps[i + 1] - weight);
  return maxStep;
}
/** The weight after Flagger acts on a confirmed traffic increase (runCanary: below maxWeight it steps up). */
export function flaggerWeightAfterIncrease(m: FlaggerMeta, weight: number): number {
  if (weight >= flaggerMaxWeight(m)) return weight;
  return Math.min(100, weight + flaggerNextStep(m, weight));
}

/**
 * The decision request for the step Flagger is at: `currentWeight` and `elapsedS` come from Riskgate's
 * record of the rollout (the weight it saw Flagger confirm), the policy's ladder is Flagger's own.
 */
export function flaggerToRequest(
  b: FlaggerBody,
  meta: FlaggerMeta,
  currentWeight: number,
  elapsedS: number,
): { ok: true; value: CanaryDecisionRequest } | { ok: false; error: z.ZodError; prefix: string[] } {
  let metrics: unknown = undefined;
  if (meta.metrics !== undefined) {
    try {
      metrics = JSON.parse(meta.metrics);
    } catch {
      return {
        ok: false,
        error: new z.ZodError([
          {
            code: 'custom',
            path: ['metrics'],
            message: 'must be a JSON array of metric specs (as a string)',
            input: undefined,
          },
        ]),
        prefix: ['metadata'],
      };
    }
  }
  const req = CanaryDecisionRequest.safeParse({
    deployment: { service: serviceOf(b), version: versionOf(b), repo: meta.repo, head_sha: meta.head_sha },
    current_weight: currentWeight,
    elapsed_s: elapsedS,
    risk: meta.risk,
    metrics,
    policy: { max_interval_s: meta.max_interval_s, max_weight: flaggerMaxWeight(meta) },
    prometheus: meta.window_s ? { window_s: meta.window_s } : undefined,
  });
  if (!req.success) return { ok: false, error: req.error, prefix: ['metadata'] };
  return { ok: true, value: req.data };
}

/**
 * Whether the judgement of the step Flagger is at says yes for a judging hook. Never the controller's own
 * next weight: Flagger moves the weight, Riskgate only says whether this step's evidence allows it.
 */
export function hookVerdict(
  hook: 'rollout' | 'confirm-traffic-increase' | 'confirm-promotion' | 'rollback',
  d: CanaryDecisionResponse,
  weight: number,
  maxWeight: number,
): { status: number; allowed: boolean; reason: string } {
  const regression = d.metrics.some((m) => m.classification === 'High' || m.classification === 'Low');
  const proven = d.verdict === 'pass' && !(d.risk > HIGH_RISK && d.score < 100);
  if (d.verdict === 'unavailable') {
    // Flagger's own metric checks fail the interval when a query fails; 503 lets `retries` try again first.
    return { status: hook === 'rollback' ? 409 : 503, allowed: false, reason: 'metrics unavailable' };
  }
  let yes: boolean;
  let reason: string;
  switch (hook) {
    case 'rollout':
      yes = d.action !== 'rollback';
      reason = yes
        ? regression
          ? 'a non-critical regression, not yet persistent'
          : 'no harm shown'
        : 'regression: failing this check';
      break;
    case 'rollback':
      yes = d.action === 'rollback';
      reason = yes ? 'regression: roll back' : 'no reason to roll back';
      break;
    case 'confirm-promotion':
      yes = proven;
      reason = yes ? 'every metric shown harmless' : `not proven harmless yet (verdict ${d.verdict}, score ${d.score})`;
      break;
    case 'confirm-traffic-increase':
      if (weight === 0) {
        // Before the first step the canary has no traffic, so no samples can exist: the release's risk decides.
        yes = !regression && d.risk <= HIGH_RISK;
        reason = yes
          ? `no traffic yet; predicted risk ${d.risk.toFixed(2)} allows the first step`
          : `predicted risk ${d.risk.toFixed(2)} is high: no traffic before evidence`;
      } else if (weight >= maxWeight) {
        // At maxWeight Flagger still asks this hook before the promotion gate; yes means "go on to it".
        yes = d.action !== 'rollback' && !regression;
        reason = yes ? 'at maxWeight: on to the promotion gate' : 'regression at maxWeight';
      } else {
        yes = d.action === 'increase' || d.action === 'promote';
        reason = d.reasons[d.reasons.length - 1] ?? d.action;
      }
      break;
  }
  return { status: yes ? 200 : 409, allowed: yes, reason };
}
