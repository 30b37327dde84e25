import { classifyFiles } from '../features/files.ts';
import { decidePolicy, riskLevelFor } from '../policy/index.ts';
import type { PolicyConfig, Thresholds } from '../policy/types.ts';
import type { RiskRequest, RiskResponse } from './schemas.ts';
import type { Factor, ScoreResult } from './types.ts';

export interface AnswerConfig {
  thresholds: Thresholds;
  policy: PolicyConfig;
  timezone: string;
}

const finiteOrNull = (v: number | null): number | null => (v == null || !Number.isFinite(v) ? null : v);

/** A scorer's result is usable only as a probability; anything else is a broken model, answered by the fallback. */
export const isSaneScore = (r: ScoreResult): boolean =>
  Number.isFinite(r.probability) && r.probability >= 0 && r.probability <= 1;

/**
 * Score → risk level → policy: the whole answer to a risk request, pure (no I/O, the instant is the
 * request's `created_at`), shared by the server and `check --local`.
 */
export function riskAnswer(
  req: RiskRequest,
  result: ScoreResult,
  config: AnswerConfig,
  requestId: string,
): RiskResponse {
  const level = riskLevelFor(result.probability, config.thresholds);
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
    timezone: config.timezone,
    serviceHealth: req.service_health,
    factors,
    change: {
      files_changed: req.files_changed ?? req.files?.length ?? null,
      churn,
      touches_deps: Number.isNaN(mix.touchesDeps) ? null : mix.touchesDeps === 1,
      touches_ci: Number.isNaN(mix.touchesCi) ? null : mix.touchesCi === 1,
    },
    config: config.policy,
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
