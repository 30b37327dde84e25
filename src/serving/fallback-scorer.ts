import { failureLabel } from '../records/schema.ts';
import type { Store } from '../store/types.ts';
import { classifyFiles } from '../features/files.ts';
import { localClock } from '../policy/windows.ts';
import type { Factor, ModelInfo, ScoreRequest, Scorer, ScoreResult } from './types.ts';

/**
 * The rule-based scorer that answers when no trained model is loaded (every answer says `degraded: true`).
 * Additive in log-odds like the models, so its factors read the same way; the weights are deliberately
 * modest priors, not fitted values: recent outcomes of the repository dominate, change shape and
 * dependency health nudge.
 */
export const FALLBACK_MODEL: ModelInfo = { id: 'fallback-rules', version: '1', kind: 'rules' };

const BASE_RATE = 0.15;
const HISTORY = 20;
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export interface FallbackOptions {
  store: Store;
  timezone?: string;
  /** How many factors to return, largest first. */
  topFactors?: number;
}

export function createFallbackScorer(opts: FallbackOptions): Scorer {
  const loadedAt = new Date().toISOString();
  const timezone = opts.timezone ?? 'UTC';
  const top = opts.topFactors ?? 6;

  function factorsFor(req: ScoreRequest): Factor[] {
    const out: Factor[] = [];
    // A validated request always has created_at; a caller of the scorer itself may leave it out (now).
    const at = req.created_at ?? new Date().toISOString();
    const recent = opts.store.recentRuns(req.repo, at, HISTORY * 3);
    const labels: number[] = [];
    for (const r of recent) {
      const l = failureLabel(r.conclusion);
      if (l !== null) labels.push(l);
      if (labels.length === HISTORY) break;
    }
    if (labels.length > 0) {
      const rate = labels.reduce((a, b) => a + b, 0) / labels.length;
      // Shrink toward the base rate when there are few outcomes, so one failure does not read as 100 %.
      const shrunk = (rate * labels.length + BASE_RATE * 5) / (labels.length + 5);
      out.push({
        feature: 'fail_rate_20',
        value: rate,
        contribution: logit(Math.min(0.95, Math.max(0.02, shrunk))) - logit(BASE_RATE),
      });
      let streak = 0;
      while (streak < labels.length && labels[streak] === 1) streak++;
      out.push({ feature: 'consecutive_failures', value: streak, contribution: 0.5 * Math.min(streak, 3) });
    }
    const mix = classifyFiles(req.files ?? null);
    if (mix.touchesDeps === 1) out.push({ feature: 'touches_deps', value: 1, contribution: 0.8 });
    if (mix.touchesCi === 1) out.push({ feature: 'touches_ci', value: 1, contribution: 0.7 });
    const churn = req.additions == null && req.deletions == null ? null : (req.additions ?? 0) + (req.deletions ?? 0);
    const files = req.files_changed ?? req.files?.length ?? null;
    if (churn != null)
      out.push({ feature: 'churn', value: churn, contribution: Math.min(1.2, 0.4 * Math.log2(1 + churn / 200)) });
    else if (files != null)
      out.push({ feature: 'files_changed', value: files, contribution: Math.min(1, 0.3 * Math.log2(1 + files / 10)) });
    const clock = localClock(new Date(at), timezone);
    const weekend = clock.weekday === 0 || clock.weekday === 6;
    if (weekend || clock.minutes < 8 * 60 || clock.minutes >= 19 * 60)
      out.push({ feature: 'off_hours', value: 1, contribution: 0.3 });
    const health = Object.values(req.service_health ?? {});
    if (health.length) {
      const worst = Math.min(...health);
      out.push({ feature: 'min_service_health', value: worst, contribution: 2.5 * (1 - worst) });
    }
    return out;
  }

  return {
    async score(req: ScoreRequest): Promise<ScoreResult> {
      const all = factorsFor(req);
      const z = logit(BASE_RATE) + all.reduce((a, f) => a + f.contribution, 0);
      const factors = all
        .filter((f) => f.contribution !== 0)
        .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
        .slice(0, top);
      return { probability: sigmoid(z), model: FALLBACK_MODEL, degraded: true, factors, attribution: 'rules' };
    },
    ready: () => true,
    info: () => ({ ...FALLBACK_MODEL, loaded_at: loadedAt }),
  };
}
