import type { Logger } from 'pino';
import { classifyFiles } from '../features/files.ts';
import { decidePolicy, riskLevelFor } from '../policy/index.ts';
import type { PolicyConfig, Thresholds } from '../policy/types.ts';
import { StoreUnavailableError } from '../store/types.ts';
import { HttpError } from './errors.ts';
import type { RiskRequest, RiskResponse } from './schemas.ts';
import type { Factor, RiskScorer, ScoreResult } from './types.ts';

export interface AssessDeps {
  scorer: RiskScorer;
  /** Answers when the scorer fails unexpectedly (a broken model must not fail the pipeline). */
  fallback: RiskScorer;
  config: { thresholds: Thresholds; policy: PolicyConfig; timezone: string };
  log?: Logger;
}

const finiteOrNull = (v: number | null): number | null => (v == null || !Number.isFinite(v) ? null : v);

function sane(r: ScoreResult): boolean {
  return Number.isFinite(r.probability) && r.probability >= 0 && r.probability <= 1;
}

/** Score → risk level → policy: the whole answer to a risk request, shared by the server and `check --local`. */
export async function assessRisk(req: RiskRequest, deps: AssessDeps, requestId: string): Promise<RiskResponse> {
  let result: ScoreResult;
  try {
    result = await deps.scorer.score(req);
    if (!sane(result)) throw new Error(`scorer returned probability ${result.probability}`);
  } catch (err) {
    if (err instanceof StoreUnavailableError || err instanceof HttpError) throw err;
    deps.log?.warn({ err }, 'scorer failed; answering with the rule-based fallback');
    result = await deps.fallback.score(req);
  }
  const level = riskLevelFor(result.probability, deps.config.thresholds);
  const mix = classifyFiles(req.files);
  const churn = req.additions == null && req.deletions == null ? null : (req.additions ?? 0) + (req.deletions ?? 0);
  const factors: Factor[] = result.factors.map((f) => ({
    feature: f.feature,
    value: finiteOrNull(f.value),
    contribution: Number.isFinite(f.contribution) ? f.contribution : 0,
  }));
  const policy = decidePolicy({
    probability: result.probability,
    riskLevel: level,
    now: new Date(req.created_at),
    timezone: deps.config.timezone,
    serviceHealth: req.service_health,
    factors,
    change: {
      files_changed: req.files_changed ?? req.files?.length ?? null,
      churn,
      touches_deps: Number.isNaN(mix.touchesDeps) ? null : mix.touchesDeps === 1,
      touches_ci: Number.isNaN(mix.touchesCi) ? null : mix.touchesCi === 1,
    },
    config: deps.config.policy,
  });
  return {
    probability: result.probability,
    risk_level: level,
    model: result.model ? { id: result.model.id, version: result.model.version, kind: result.model.kind } : null,
    degraded: result.degraded,
    ...(result.degraded_reason ? { degraded_reason: result.degraded_reason } : {}),
    factors,
    attribution: result.attribution ?? null,
    policy,
    ...(result.note ? { note: result.note } : {}),
    request_id: requestId,
  };
}
