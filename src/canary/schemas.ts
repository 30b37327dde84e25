/**
 * Wire contracts of the canary endpoints (zod 4). The OpenAPI document is generated from these, so each
 * field carries its description.
 */
import { z } from 'zod';
import { MAX_METRICS_PER_REQUEST, MAX_SAMPLES_PER_REQUEST, MAX_SAMPLES_PER_SIDE, tooManySamples } from './limits.ts';

const MAX_SAMPLES = MAX_SAMPLES_PER_SIDE;
/** At most this many bad elements are reported per array; a wrong array usually has them everywhere. */
const MAX_SAMPLE_ISSUES = 5;

/**
 * Samples are almost all of a decision's body (10 metrics × 300 × 2 numbers). `z.array(z.number())`
 * allocates a result per element — about half a megabyte per decision — so one loop checks the array
 * and reports the same issues (path to the element, expected a finite number). The JSON Schema is given
 * by hand, as zod cannot derive it from a check.
 */
const samples = z
  .custom<number[]>((v) => Array.isArray(v), { error: 'expected an array of numbers' })
  .check((ctx) => {
    const v = ctx.value;
    if (v.length > MAX_SAMPLES) {
      ctx.issues.push({
        code: 'too_big',
        origin: 'array',
        maximum: MAX_SAMPLES,
        inclusive: true,
        input: v,
        message: `too many samples (${v.length}, at most ${MAX_SAMPLES})`,
      });
      return;
    }
    let bad = 0;
    for (let i = 0; i < v.length && bad < MAX_SAMPLE_ISSUES; i++) {
      const x: unknown = v[i];
      if (typeof x === 'number' && Number.isFinite(x)) continue;
      bad++;
      ctx.issues.push({
        code: 'invalid_type',
        expected: 'number',
        path: [i],
        input: x,
        message: `expected a finite number, got ${x === null ? 'null' : typeof x}`,
      });
    }
  })
  .meta({ type: 'array', items: { type: 'number' }, maxItems: MAX_SAMPLES });

/** A template parameter is pasted into PromQL (inside a label matcher's quotes): nothing that could end the string or the selector. */
export const TEMPLATE_PARAM_VALUE = /^[A-Za-z0-9_.:/-]{1,200}$/;

export const PromQuery = z
  .object({
    canary: z
      .string()
      .min(1)
      .max(4000)
      .optional()
      .describe('PromQL for the canary; its range-query values are the samples'),
    baseline: z.string().min(1).max(4000).optional().describe('PromQL for the baseline'),
    template: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe(
        'Name of an operator-defined query pair (RISKGATE_PROMETHEUS_QUERIES), instead of canary/baseline PromQL',
      ),
    params: keyedMap(
      z.string().regex(TEMPLATE_PARAM_VALUE, 'letters, digits and _ . : / - only (1–200)'),
      { type: 'string', pattern: TEMPLATE_PARAM_VALUE.source },
      20,
    )
      .optional()
      .describe("Values of the template's {{param}} placeholders"),
  })
  .superRefine((q, ctx) => {
    if (q.template !== undefined) {
      if (q.canary !== undefined || q.baseline !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: 'give either template (with params) or canary and baseline PromQL, not both',
        });
    } else {
      if (q.params !== undefined)
        ctx.addIssue({ code: 'custom', path: ['params'], message: 'params go with a template' });
      for (const side of ['canary', 'baseline'] as const)
        if (q[side] === undefined)
          ctx.addIssue({ code: 'custom', path: [side], message: 'PromQL required (or name a template)' });
    }
  });
export type PromQuery = z.output<typeof PromQuery>;

export const MetricSpec = z
  .object({
    name: z.string().min(1).max(128),
    direction: z.enum(['increase', 'decrease', 'either']).default('increase').describe('Which change is harmful'),
    critical: z.boolean().optional().describe('A regression fails the whole analysis'),
    weight: z.number().positive().max(1000).optional(),
    max_change: z
      .number()
      .nonnegative()
      .max(1000)
      .optional()
      .describe('Relative change below which a difference is harmless (default 0.1)'),
    threshold: z
      .number()
      .finite()
      .optional()
      .describe('Absolute bound on the canary mean (ceiling; floor for `decrease`)'),
    margin: z
      .number()
      .positive()
      .max(0.5)
      .optional()
      .describe('Pass margin on P(canary worse | not tied) − ½ (default 0.15)'),
    baseline: samples.optional(),
    canary: samples.optional(),
    query: PromQuery.optional().describe('Fetch samples from Prometheus instead of sending them'),
  })
  .superRefine((m, ctx) => {
    const hasSamples = m.baseline !== undefined || m.canary !== undefined;
    if (hasSamples && m.query)
      ctx.addIssue({ code: 'custom', message: 'give either samples (baseline, canary) or query, not both' });
    else if (!m.query && (m.baseline === undefined || m.canary === undefined))
      ctx.addIssue({ code: 'custom', message: 'needs both baseline and canary samples, or a query' });
  });
export type MetricSpec = z.output<typeof MetricSpec>;

export const PolicySchema = z
  .object({
    max_weight: z.number().min(1).max(100).optional(),
    steps: z.array(z.number().gt(0).max(100)).min(1).max(50).optional(),
    min_step: z.number().min(1).max(100).optional(),
    max_step: z.number().min(1).max(100).optional(),
    max_interval_s: z
      .number()
      .positive()
      .max(7 * 86400)
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (p.steps && p.steps.some((w, i) => i > 0 && w <= p.steps![i - 1]))
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'must be strictly increasing' });
  });

export const Deployment = z.object({
  service: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only'),
  version: z.string().min(1).max(200),
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"')
    .optional(),
  head_sha: z.string().min(1).max(64).optional(),
});

/** Prometheus refuses a range query of more points per series than this (promql: "exceeded maximum resolution of 11,000 points"). */
export const MAX_RANGE_POINTS = 11_000;

export const PrometheusWindow = z
  .object({
    window_s: z
      .number()
      .int()
      .positive()
      .max(86_400)
      .default(60)
      .describe('Range queried, ending now (at most RISKGATE_PROMETHEUS_MAX_WINDOW_S)'),
    step_s: z
      .number()
      .positive()
      .max(3600)
      .optional()
      .describe(
        'Range-query resolution; never finer than the scrape interval (one sample per scrape), which is also the default',
      ),
  })
  .superRefine((w, ctx) => {
    if (w.step_s === undefined) return;
    const points = Math.floor(w.window_s / w.step_s) + 1;
    if (points > MAX_RANGE_POINTS)
      ctx.addIssue({
        code: 'custom',
        path: ['step_s'],
        message: `window_s ${w.window_s} at step_s ${w.step_s} is ${points.toLocaleString('en-US')} points per series; Prometheus answers at most ${MAX_RANGE_POINTS.toLocaleString('en-US')} (use step_s ≥ ${Math.ceil(w.window_s / (MAX_RANGE_POINTS - 1))}, or leave it out)`,
      });
  });

export const CanaryDecisionRequest = z
  .object({
    deployment: Deployment,
    current_weight: z.number().min(0).max(100).describe('Current canary traffic, percent'),
    elapsed_s: z.number().nonnegative().default(0).describe('Seconds spent at the current weight'),
    risk: z.number().min(0).max(1).optional().describe('Predicted failure probability; else looked up, else the prior'),
    metrics: z.array(MetricSpec).min(1).max(MAX_METRICS_PER_REQUEST),
    policy: PolicySchema.optional(),
    prometheus: PrometheusWindow.optional(),
  })
  .superRefine((r, ctx) => {
    let total = 0;
    for (const m of r.metrics) total += (m.baseline?.length ?? 0) + (m.canary?.length ?? 0);
    if (total > MAX_SAMPLES_PER_REQUEST)
      ctx.addIssue({
        code: 'too_big',
        origin: 'array',
        maximum: MAX_SAMPLES_PER_REQUEST,
        inclusive: true,
        path: ['metrics'],
        message: tooManySamples(total),
      });
  });
export type CanaryDecisionRequest = z.output<typeof CanaryDecisionRequest>;

const TestResultSchema = z.object({
  estimate: z.number().nullable(),
  lower: z.number().nullable(),
  upper: z.number().nullable(),
  relative: z.number().nullable(),
  p_value: z.number(),
  harmful: z.boolean(),
  passed: z.boolean(),
});

export const MetricResultSchema = z.object({
  name: z.string(),
  direction: z.enum(['increase', 'decrease', 'either']),
  critical: z.boolean(),
  weight: z.number(),
  classification: z.enum(['Pass', 'High', 'Low', 'Inconclusive', 'NoData']),
  reason: z.string(),
  n_canary: z.number(),
  n_baseline: z.number(),
  canary_mean: z.number().nullable(),
  baseline_mean: z.number().nullable(),
  effect: z.object({
    shift: z.number().nullable(),
    lower: z.number().nullable(),
    upper: z.number().nullable(),
    relative: z.number().nullable(),
  }),
  p_value: z.number().describe('Always-valid p-value (valid under repeated looks)'),
  p_fixed: z.number().describe('Fixed-sample Mann-Whitney p of this window alone'),
  tests: z.object({ location: TestResultSchema, spread: TestResultSchema, tail: TestResultSchema }),
  sufficiency: z
    .object({ effective_samples: z.number(), needed: z.number(), thin: z.boolean() })
    .describe(
      'Evidence so far (samples per side) against what a pass needs; thin: too little to show the metric harmless yet',
    ),
});

export const CanaryDecisionResponse = z.object({
  action: z.enum(['increase', 'hold', 'rollback', 'promote']),
  next_weight: z.number(),
  confidence: z.number(),
  score: z.number().describe('Weighted share of metrics proven harmless, 0–100'),
  score_upper: z.number(),
  verdict: z.enum(['pass', 'marginal', 'fail', 'inconclusive', 'unavailable']),
  risk: z.number(),
  risk_source: z.enum(['request', 'model', 'prior']),
  look: z.number().int().describe('How many looks this rollout has had, this one included'),
  metrics: z.array(MetricResultSchema),
  reasons: z.array(z.string()),
});
export type CanaryDecisionResponse = z.output<typeof CanaryDecisionResponse>;

/** Argo Rollouts web metric provider: GET query parameters (metrics as a JSON-encoded array). */
export const ArgoQuery = z.object({
  service: z.string().min(1).max(200),
  version: z.string().min(1).max(200),
  repo: z.string().optional(),
  head_sha: z.string().optional(),
  weight: z.coerce.number().min(0).max(100).default(0),
  elapsed_s: z.coerce.number().nonnegative().default(0),
  risk: z.coerce.number().min(0).max(1).optional(),
  window_s: z.coerce.number().int().positive().max(86_400).optional(),
  metrics: z.string().min(2).max(50_000).describe('JSON array of metric specs (with `query`)'),
});

export const ArgoResult = z.object({
  decision: z
    .enum(['pass', 'fail', 'inconclusive'])
    .describe('successCondition: result.decision == "pass"; failureCondition: result.decision == "fail"'),
  action: z.enum(['increase', 'hold', 'rollback', 'promote']),
  next_weight: z.number(),
  score: z.number(),
  confidence: z.number(),
  risk: z.number(),
  reasons: z.array(z.string()),
});

/** Every webhook type Flagger has (fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go, HookType). */
export const FlaggerHook = z.enum([
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
]);

export const FlaggerWebhookRequest = z.object({
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(253),
  phase: z.string().max(64).optional(),
  checksum: z.string().max(256).optional(),
  type: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.string().max(50_000)).optional(),
});

/**
 * A JSON object whose keys the caller names (Kayenta's group weights, a metric's tags), read into a Map:
 * a key such as `toString`, `constructor` or `__proto__` is just a name here, never an inherited property
 * (zod's record drops `__proto__`, and a plain object answers `toString` with a function).
 */
function keyedMap<T>(value: z.ZodType<T>, valueJson: Record<string, unknown>, maxKeys = 1000) {
  return z
    .custom<Record<string, unknown>>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), {
      error: 'expected an object',
    })
    .transform((v, ctx) => {
      const out = new Map<string, T>();
      const entries = Object.entries(v);
      if (entries.length > maxKeys) {
        ctx.issues.push({
          code: 'too_big',
          origin: 'object',
          maximum: maxKeys,
          inclusive: true,
          input: v,
          message: `too many keys (${entries.length}, at most ${maxKeys})`,
        });
        return z.NEVER;
      }
      for (const [k, raw] of entries) {
        const r = value.safeParse(raw);
        if (!r.success) {
          for (const issue of r.error.issues)
            ctx.issues.push({ ...issue, path: [k, ...issue.path], input: raw } as never);
          continue;
        }
        out.set(k, r.data);
      }
      return out;
    })
    .meta({ type: 'object', additionalProperties: valueJson, maxProperties: maxKeys });
}

/** A Kayenta data point: Jackson writes NaN and the infinities as strings; missing points may be null. */
const KayentaValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']), z.null()]);

export const KayentaMetricSetPair = z.object({
  name: z.string().min(1),
  id: z.string().optional(),
  tags: keyedMap(z.string().max(1000), { type: 'string', maxLength: 1000 }).optional(),
  values: z.object({
    // Kayenta serialises missing points as NaN (JSON "NaN" or null); they are dropped per nanStrategy.
    control: z.array(KayentaValue).max(MAX_SAMPLES_PER_SIDE),
    experiment: z.array(KayentaValue).max(MAX_SAMPLES_PER_SIDE),
  }),
  attributes: z.record(z.string(), z.unknown()).optional(),
  scopes: z.record(z.string(), z.unknown()).optional(),
});

export const KayentaMetricConfig = z.object({
  name: z.string().min(1),
  groups: z.array(z.string()).default([]),
  scopeName: z.string().optional(),
  query: z.unknown().optional(),
  analysisConfigurations: z
    .object({
      canary: z
        .object({
          direction: z.enum(['increase', 'decrease', 'either']).optional(),
          critical: z.boolean().optional(),
          mustHaveData: z.boolean().optional().describe('Missing data counts as not passing (NodataFailMetric)'),
          muted: z.boolean().optional().describe('Classified and reported, but left out of the score'),
          nanStrategy: z.enum(['remove', 'replace']).optional(),
          effectSize: z
            .object({ allowedIncrease: z.number().optional(), allowedDecrease: z.number().optional() })
            .optional(),
        })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
});

export const KayentaJudgeRequest = z
  .object({
    canaryConfig: z
      .object({
        name: z.string().optional(),
        judge: z.unknown().optional(),
        metrics: z.array(KayentaMetricConfig).max(500),
        classifier: z
          .object({
            groupWeights: keyedMap(z.number().nonnegative().max(100), { type: 'number', minimum: 0, maximum: 100 })
              .optional()
              .describe('Percent per group; groups without one share what is left of 100'),
            scoreThresholds: z.unknown().optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough(),
    scoreThresholds: z.object({ pass: z.number().min(0).max(100), marginal: z.number().min(0).max(100) }),
    metricSetPairList: z.array(KayentaMetricSetPair).max(MAX_METRICS_PER_REQUEST),
  })
  .superRefine((r, ctx) => {
    let total = 0;
    for (const p of r.metricSetPairList) total += p.values.control.length + p.values.experiment.length;
    if (total > MAX_SAMPLES_PER_REQUEST)
      ctx.addIssue({
        code: 'too_big',
        origin: 'array',
        maximum: MAX_SAMPLES_PER_REQUEST,
        inclusive: true,
        path: ['metricSetPairList'],
        message: tooManySamples(total),
      });
    // Kayenta's judge fails on a metric without a config ("Could not find metric config for …"); say which.
    const names = new Set(r.canaryConfig.metrics.map((m) => m.name));
    r.metricSetPairList.forEach((p, i) => {
      if (!names.has(p.name))
        ctx.addIssue({
          code: 'custom',
          path: ['metricSetPairList', i, 'name'],
          message: `no metric named "${p.name}" in canaryConfig.metrics`,
        });
    });
  });
export type KayentaJudgeRequest = z.output<typeof KayentaJudgeRequest>;

const KayentaStats = z.object({
  count: z.number(),
  mean: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

export const KayentaJudgeResponse = z.object({
  judgeName: z.string(),
  results: z.array(
    z.object({
      name: z.string(),
      id: z.string().optional(),
      tags: z.record(z.string(), z.string()).describe("the metric set pair's tags"),
      classification: z.enum(['Pass', 'High', 'Low', 'Nodata', 'NodataFailMetric', 'Error']),
      classificationReason: z.string(),
      groups: z.array(z.string()),
      experimentMetadata: z.object({ stats: KayentaStats }),
      controlMetadata: z.object({ stats: KayentaStats }),
      resultMetadata: z.record(z.string(), z.unknown()),
      critical: z.boolean().describe('a critical metric that did not pass (the score is then 0)'),
      muted: z.boolean().describe('left out of the score'),
    }),
  ),
  groupScores: z.array(
    z.object({ name: z.string(), score: z.number(), classification: z.string(), classificationReason: z.string() }),
  ),
  score: z.object({
    score: z.number(),
    classification: z.enum(['Pass', 'Marginal', 'Fail', 'Nodata']),
    classificationReason: z.string(),
  }),
});

export const CanaryOutcomeRequest = z.object({
  service: Deployment.shape.service,
  version: z.string().min(1).max(200),
  outcome: z.enum(['promoted', 'rolled_back', 'incident']),
  repo: Deployment.shape.repo,
  head_sha: z.string().min(1).max(64).optional(),
  detail: z.string().max(2000).optional(),
});
export type CanaryOutcomeRequest = z.output<typeof CanaryOutcomeRequest>;

// ---- responses of the Flagger, rollout-history and outcome routes ----

/** `POST /v1/canary/flagger/pre-rollout`: 200 when the predicted risk is at most the bar, else 403. */
export const FlaggerPreRolloutResponse = z.object({
  allowed: z.boolean(),
  risk: z.number().min(0).max(1),
  risk_source: z
    .enum(['request', 'model', 'prior'])
    .describe("request: metadata.risk; model: the commit's /v1/risk answer; prior: neither was known"),
  reason: z.string(),
});

/**
 * The judging Flagger hooks (rollout, confirm-traffic-increase, confirm-promotion, rollback): 200 when the
 * judgement of the step Flagger is at says yes, 409 when it says no, 503 when metrics are unavailable.
 */
export const FlaggerHookResponse = z.object({
  allowed: z.boolean(),
  hook: z.enum(['rollout', 'confirm-traffic-increase', 'confirm-promotion', 'rollback']),
  weight: z.number().describe('the canary weight Flagger is at, as Riskgate infers it from the steps it confirmed'),
  verdict: z.enum(['pass', 'marginal', 'fail', 'inconclusive', 'unavailable']),
  action: z
    .enum(['increase', 'hold', 'rollback', 'promote'])
    .describe("the controller's judgement at this weight (Flagger moves the weight itself)"),
  score: z.number(),
  reason: z.string(),
  reasons: z.array(z.string()),
  look: z.number().int(),
});

/** Flagger's post-rollout (the outcome, phase Succeeded / Failed) and event hooks: what was recorded. */
export const FlaggerRecordResponse = z.object({
  recorded: z.boolean(),
  hook: z.enum(['post-rollout', 'event']),
  outcome: z.enum(['promoted', 'rolled_back']).optional(),
  training_record: z.boolean().optional(),
  run_id: z.string().optional(),
  reason: z.string().optional(),
});

/** `GET /v1/canary/rollouts/{service}` query (the router checks it by hand with the same bounds). */
export const RolloutHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(5000).default(200).describe('newest decisions returned'),
});

export const RolloutsResponse = z.object({
  rollouts: z.array(
    z.object({
      service: z.string(),
      version: z.string(),
      last_at: z.string().describe('time of the newest decision'),
      action: z.enum(['increase', 'hold', 'rollback', 'promote']),
      weight: z.number().describe('next_weight of the newest decision'),
      score: z.number(),
      verdict: z.enum(['pass', 'marginal', 'fail', 'inconclusive', 'unavailable']),
      decisions: z.number().int().min(1),
      outcome: z.object({ outcome: z.enum(['promoted', 'rolled_back', 'incident']), at: z.string() }).nullable(),
    }),
  ),
});

export const RolloutHistoryResponse = z.object({
  service: z.string(),
  decisions: z.array(
    z.object({
      at: z.string(),
      version: z.string(),
      current_weight: z.number(),
      action: z.enum(['increase', 'hold', 'rollback', 'promote']),
      next_weight: z.number(),
      score: z.number(),
      verdict: z.enum(['pass', 'marginal', 'fail', 'inconclusive', 'unavailable']),
      confidence: z.number(),
      risk: z.number(),
      reasons: z.array(z.string()),
      metrics: z.array(
        z.object({
          name: z.string(),
          classification: z.enum(['Pass', 'High', 'Low', 'Inconclusive', 'NoData']),
          p_value: z.number(),
          effect: MetricResultSchema.shape.effect,
        }),
      ),
    }),
  ),
});

export const CanaryOutcomeResponse = z.object({
  recorded: z.literal(true),
  training_record: z.boolean().describe('whether a run record (training data for the risk prior) was stored'),
  run_id: z.string().describe('`canary:<service>:<version>`'),
  reason: z.string().optional().describe('why no training record was stored'),
});
