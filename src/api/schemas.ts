import { z } from 'zod';
import { RunRecordSchema, type RunRecord } from '../records/schema.ts';
import type { Policy } from '../policy/types.ts';
import { ATTRIBUTIONS } from '../ml/model.ts';

/**
 * Request and response contracts of the HTTP API. Requests reuse the canonical run record's field rules so a
 * value the store would reject is rejected here too. Response schemas carry no transforms so they document
 * exactly what is sent (and `z.toJSONSchema` can render them for /openapi.json).
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

/**
 * The run a risk request describes, as the feature module sees it: not started, no outcome yet. Fields are
 * passed as given (`files_changed` stays null when only `files` came), exactly as an imported record with
 * the same fields is stored, so serving computes the features training computed.
 */
export function riskRequestToRunRecord(req: RiskRequest): RunRecord {
  return {
    repo: req.repo,
    run_id: 'pending',
    created_at: req.created_at,
    workflow: req.workflow,
    run_attempt: req.run_attempt,
    head_sha: req.head_sha,
    head_branch: req.head_branch,
    event: req.event,
    actor: req.actor,
    run_started_at: null,
    completed_at: null,
    conclusion: null,
    files_changed: req.files_changed,
    additions: req.additions,
    deletions: req.deletions,
    files: req.files,
  };
}

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

export const CircuitNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 characters of letters, digits, "_", ".", ":" or "-"');

/**
 * Paging for GET /v1/circuits (issue 16.7: 50k circuits were one 10.6 MB answer). The cursor is opaque to
 * clients (base64url of the last name served) and is checked to decode to a circuit name.
 */
export const encodeCircuitCursor = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');
export const CircuitListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('circuits per page (1-1000, default 100)'),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a next_cursor from a previous page')
    .transform((c, ctx) => {
      const name = Buffer.from(c, 'base64url').toString('utf8');
      if (!CircuitNameSchema.safeParse(name).success) {
        ctx.addIssue({ code: 'custom', message: 'must be a next_cursor from a previous page' });
        return z.NEVER;
      }
      return name;
    })
    .optional()
    .describe('next_cursor of the previous page; omit for the first'),
});

export const CircuitEventSchema = z.object({
  event: z
    .enum(['success', 'failure', 'attempt'])
    .describe('success/failure: the outcome of a call to the dependency; attempt: ask whether a call may go ahead now'),
});

// ---- responses ----

export const ErrorSchema = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  request_id: z.string().optional(),
});

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

export const CircuitViewSchema = z.object({
  name: z.string(),
  state: z.enum(['closed', 'open', 'half-open']),
  consecutive_failures: z.number().int().min(0),
  failure_threshold: z.number().int().min(1),
  cooldown_ms: z.number().int().min(0),
  cooldown_remaining_ms: z.number().int().min(0),
  trial_in_flight: z.boolean(),
  allowed: z
    .boolean()
    .describe(
      'whether a call to the dependency may go ahead now (for "attempt": whether this caller got the go-ahead)',
    ),
  updated_at: z.string().nullable(),
});

export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'unavailable']),
  ready: z.boolean(),
  degraded: z.boolean(),
  started_at: z.string(),
  uptime_s: z.number(),
  model: ModelInfoSchema.extend({ loaded_at: z.string() }).nullable(),
  store: z.object({
    ok: z.boolean(),
    error: z.string().optional(),
    writable: z
      .boolean()
      .optional()
      .describe('false while writes fail (disk full, read-only); risk checks are still answered'),
    write_error: z.string().optional(),
    write_failing_since: z.string().optional(),
  }),
  dependencies: z
    .record(
      z.string(),
      z.object({
        healthy: z.boolean(),
        state: z.enum(['closed', 'open', 'half-open']),
        consecutive_failures: z.number(),
        opened_at: z.string().nullable(),
      }),
    )
    .optional()
    .describe("Riskgate's own dependencies (the GitHub ingest's circuit)"),
});

// The policy module is pure and defines its own types; keep the two in lock-step at compile time.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const policyTypesMatch: Same<z.output<typeof PolicySchema>, Policy> = true;
void policyTypesMatch;

export const CircuitListSchema = z.object({
  circuits: z.array(CircuitViewSchema),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});
