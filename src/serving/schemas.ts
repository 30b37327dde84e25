import { z } from 'zod';
import { RunRecordSchema } from '../records/schema.ts';
import type { Policy } from '../policy/types.ts';
import { ATTRIBUTIONS } from '../ml/model.ts';

/**
 * Request and response contracts of the pre-build risk check and of the outcomes that close the loop.
 * Requests reuse the canonical run record's field rules so a value the store would reject is rejected here
 * too. Response schemas carry no transforms so they document exactly what is sent (and `z.toJSONSchema`
 * can render them for /openapi.json).
 */
const f = RunRecordSchema.shape;

export const ServiceHealthSchema = z
  .record(z.string().min(1).max(64), z.number().min(0).max(1))
  .refine((r) => Object.keys(r).length <= 50, { message: 'at most 50 services' })
  .describe('Health of external dependencies, name → 0 (down) … 1 (healthy), e.g. {"npm-registry": 0.6}');

// Field rules match RunRecordSchema's, but without per-field transforms: normalising once in the outer
// transform makes validation ~3× cheaper, which matters on the hot path (see bench/api.ts).
const count = z.number().int().nonnegative().finite();
export const RiskRequestSchema = z
  .object({
    repo: f.repo,
    head_sha: z.string().max(64).nullish(),
    head_branch: z.string().max(256).nullish(),
    event: z.string().max(64).nullish(),
    actor: z.string().max(256).nullish(),
    workflow: z.string().min(1).max(256).nullish(),
    run_attempt: z.number().int().min(1).nullish(),
    created_at: f.created_at.nullish().describe('ISO 8601 with zone; defaults to now'),
    files: z.array(z.string().max(4096)).max(10_000).nullish().describe('changed paths'),
    files_changed: count.nullish(),
    additions: count.nullish(),
    deletions: count.nullish(),
    service_health: ServiceHealthSchema.nullish(),
    attribution: z
      .enum(ATTRIBUTIONS)
      .nullish()
      .describe(
        'how a tree model credits factors: `path` (default, Saabas: one decision path per tree) or `treeshap` (Shapley values; slower)',
      ),
  })
  .transform((v) => {
    const out = {
      repo: v.repo,
      head_sha: v.head_sha ?? null,
      head_branch: v.head_branch ?? null,
      event: v.event ?? null,
      actor: v.actor ?? null,
      workflow: v.workflow ?? 'default',
      run_attempt: v.run_attempt ?? 1,
      created_at: v.created_at ?? new Date().toISOString(),
      files: v.files ?? null,
      files_changed: v.files_changed ?? null,
      additions: v.additions ?? null,
      deletions: v.deletions ?? null,
      service_health: v.service_health ?? null,
      attribution: v.attribution ?? null,
    };
    VALIDATED.add(out);
    return out;
  });

/** Requests this schema produced: their fields already are what a run record accepts (schemas.test.ts proves it). */
const VALIDATED = new WeakSet<object>();
export const isValidatedRiskRequest = (x: object): x is RiskRequest => VALIDATED.has(x);

export type RiskRequestInput = z.input<typeof RiskRequestSchema>;
export type RiskRequest = z.output<typeof RiskRequestSchema>;
export type ServiceHealth = z.output<typeof ServiceHealthSchema>;

export const FinishedRunSchema = RunRecordSchema.refine((r) => r.conclusion != null, {
  message: 'a finished run needs a conclusion',
  path: ['conclusion'],
});
export const OutcomeBatchSchema = z.object({ runs: z.array(FinishedRunSchema).min(1).max(1000) });

/** Documents the body (OpenAPI); validation picks one side by the `runs` key (`outcomeSchemaFor`) so an error names its field. */
export const OutcomeRequestSchema = z.union([FinishedRunSchema, OutcomeBatchSchema]);
/** A union reports a bad record inside a batch at "(root)"; validating the side the body chose reports "runs.3.repo". */
export const outcomeSchemaFor = (body: unknown) =>
  body !== null && typeof body === 'object' && 'runs' in body ? OutcomeBatchSchema : FinishedRunSchema;

// ---- responses ----

export const ModelInfoSchema = z.object({ id: z.string(), version: z.string(), kind: z.string() });
export const FactorSchema = z.object({ feature: z.string(), value: z.number().nullable(), contribution: z.number() });
export const RiskLevelSchema = z.enum(['low', 'medium', 'high']);
export const StrategyNameSchema = z.enum(['conservative', 'standard', 'aggressive']);
export const MitigationActionSchema = z.enum([
  'enable_extra_retries',
  'increase_timeouts',
  'require_manual_approval',
  'split_build_into_chunks',
  'warm_cache_preemptively',
  'use_alternative_cache',
]);

export const PolicySchema = z.object({
  retry: z.object({
    max_attempts: z.number().int().min(1),
    base_delay_ms: z.number().int().min(0),
    max_delay_ms: z.number().int().min(0),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .describe('share of each backoff delay that is randomised (0 = none, 1 = full jitter)'),
  }),
  strategy: z.object({
    name: StrategyNameSchema,
    env: z.record(z.string(), z.string()),
    reasons: z.array(z.string()),
  }),
  mitigations: z.array(z.object({ action: MitigationActionSchema, reason: z.string() })),
  time: z.object({
    local: z.string().describe('weekday and time in the configured zone, e.g. "Fri 18:05 Europe/Berlin"'),
    maintenance_window: z.string().nullable(),
    high_risk_period: z.string().nullable(),
  }),
});

export const RiskResponseSchema = z.object({
  probability: z.number().min(0).max(1),
  risk_level: RiskLevelSchema,
  model: ModelInfoSchema.nullable(),
  degraded: z.boolean(),
  degraded_reason: z
    .string()
    .optional()
    .describe(
      'why the answer is degraded when a model was loaded (e.g. the store is unavailable and history came from memory)',
    ),
  factors: z.array(FactorSchema),
  attribution: z
    .string()
    .nullable()
    .describe(
      'method behind `factors`: path, treeshap, occlusion (neural model), exact (baseline) or rules (fallback)',
    ),
  policy: PolicySchema,
  note: z
    .string()
    .optional()
    .describe(
      'present when no finished run of the repo (or of this workflow on this branch) is known: the score then rests on the change and the time alone',
    ),
  request_id: z.string(),
});
export type RiskResponse = z.output<typeof RiskResponseSchema>;

export const OutcomeResponseSchema = z.object({
  inserted: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
});

// The policy module is pure and defines its own types; keep the two in lock-step at compile time.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const policyTypesMatch: Same<z.output<typeof PolicySchema>, Policy> = true;
void policyTypesMatch;
