/**
 * Response contracts of the model-management routes (src/registry/router.ts), for /openapi.json. They
 * describe what the operations (src/registry/operations.ts) return; the request bodies live in the router,
 * the model id in operations.ts (the CLI checks it too).
 */
import { z } from 'zod';

export const ModelStatusSchema = z.enum(['champion', 'challenger', 'rejected', 'retired']);
/** Metrics are numbers; one that was undefined (NaN, e.g. PR-AUC without a positive) is serialised as null. */
const Metrics = z.record(z.string(), z.number().nullable()).describe('holdout metrics, e.g. pr_auc, f1, brier');
const DataRange = z.object({ from: z.string().nullable(), to: z.string().nullable(), rows: z.number().int().min(0) });

export const ModelSummarySchema = z.object({
  id: z.string(),
  kind: z.string(),
  status: ModelStatusSchema,
  champion: z.boolean(),
  on_trial: z.boolean(),
  created_at: z.string(),
  data_range: DataRange,
  metrics: Metrics,
  threshold: z.number(),
  code_version: z.string(),
});

export const ModelListSchema = z.object({
  champion: z.string().nullable(),
  trial: z.string().nullable().describe('the challenger on shadow trial'),
  ab_share: z.number().min(0).max(1).describe('share of repositories the challenger serves (0: shadow only)'),
  previous: z.array(z.string()).describe('earlier champions, oldest first (what rollback goes back to)'),
  models: z.array(ModelSummarySchema).describe('newest first'),
});

export const ModelDetailSchema = z.object({
  id: z.string(),
  kind: z.string(),
  created_at: z.string(),
  features: z.array(z.string()),
  data_range: DataRange,
  code_version: z.string(),
  sha256: z.string(),
  artifact_bytes: z.number().int().min(0),
  threshold: z.number(),
  status: ModelStatusSchema,
  metrics: Metrics,
  decision: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('why the status is what it is (e.g. the comparison that rejected a challenger)'),
  champion: z.boolean(),
  on_trial: z.boolean(),
});

export const ChampionChangeSchema = z.object({ champion: z.string(), previous: z.string().nullable() });
export const TrialStartedSchema = z.object({ trial: z.string(), ab_share: z.number().min(0).max(1) });
export const TrialEndedSchema = z.object({
  ended: z.string(),
  status: ModelStatusSchema.nullable().describe(
    "the model's status afterwards: retired, unless it was promoted or rejected meanwhile",
  ),
});

const Compared = z.object({ pr_auc: z.number().nullable(), f1: z.number().nullable(), brier: z.number().nullable() });
const Arm = z.object({
  requests: z.number().int(),
  labelled: z.number().int(),
  failure_rate: z.number().nullable(),
  served: Compared.nullable(),
});
export const ShadowReportSchema = z.object({
  challenger: z.string().nullable(),
  champion: z.string().nullable(),
  requests: z.number().int(),
  labelled: z.number().int(),
  min_outcomes: z.number().int(),
  champion_metrics: Compared.nullable().describe('both models on the same labelled requests (paired)'),
  challenger_metrics: Compared.nullable(),
  arms: z.object({ champion: Arm, challenger: Arm }),
  decision: z
    .object({
      promote: z.boolean(),
      reasons: z.array(z.string()),
      numbers: z.object({
        challenger: Compared,
        champion: Compared.nullable(),
        pr_auc_gain: z.number().nullable(),
        f1_change: z.number().nullable(),
        brier_change: z.number().nullable(),
        margins: z.object({ minPrAucGain: z.number(), maxF1Loss: z.number(), brierTolerance: z.number() }),
      }),
    })
    .nullable(),
  ready: z.boolean(),
});

const JobName = z.enum(['ingest', 'retrain', 'evaluate']);
const JobEvent = z.object({
  job: JobName,
  status: z.enum(['ok', 'error', 'skipped']),
  started_at: z.string(),
  finished_at: z.string(),
  duration_ms: z.number(),
  owner: z.string(),
  tick_at: z.string(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
});
export const JobsSchema = z.object({
  jobs: z.array(
    z.object({
      name: JobName,
      cron: z.string(),
      running: z.boolean(),
      last: JobEvent.nullable(),
      last_ok: JobEvent.nullable(),
    }),
  ),
});

export const DriftSchema = z.union([
  z.object({
    enabled: z.literal(true),
    model: z.string().nullable(),
    samples: z.number().int(),
    threshold: z.number(),
    ready: z.boolean().describe('false until enough live requests were seen'),
    score_psi: z.number().nullable(),
    features: z.array(z.object({ feature: z.string(), psi: z.number() })),
    drifted: z.array(z.string()),
  }),
  z.object({ enabled: z.literal(false), reason: z.string() }),
]);
