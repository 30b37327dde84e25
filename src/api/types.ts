import type { RiskRequest } from './schemas.ts';

export type { RiskRequest } from './schemas.ts';

/** One signed contribution behind a score (log-odds units for trees/linear models, so they add up). */
export interface Factor {
  feature: string;
  value: number | null;
  contribution: number;
}

export interface ModelInfo {
  id: string;
  version: string;
  kind: string;
}

export interface ScoreResult {
  probability: number;
  model: ModelInfo | null;
  /** True when no trained model answered and the rule-based fallback did. */
  degraded: boolean;
  /** Why `degraded` is true, when it is for another reason than having no trained model (e.g. the store is down). */
  degraded_reason?: string;
  factors: Factor[];
  /** The method behind the factors (path, treeshap, occlusion, exact, rules). */
  attribution?: string;
  shadow?: unknown;
  /** Set when the score could not draw on the repo's (or the branch's) own history: says which is missing. */
  note?: string;
}

/** What the HTTP layer needs from whatever produces probabilities (model-backed, fallback, or a test double). */
export interface RiskScorer {
  score(req: RiskRequest): Promise<ScoreResult>;
  ready(): boolean;
  info(): (ModelInfo & { loaded_at: string }) | null;
}
