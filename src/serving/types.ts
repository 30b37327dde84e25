import type { Attribution } from '../ml/model.ts';
import type { ServiceHealth } from './schemas.ts';

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

/**
 * What a scorer needs about the run that is about to start. A validated risk request (`RiskRequest`) is one;
 * tests, the backtest and `check --local` may pass fewer fields, and `pendingRun` validates those.
 */
export interface ScoreRequest {
  repo: string;
  head_sha?: string | null;
  head_branch?: string | null;
  event?: string | null;
  actor?: string | null;
  workflow?: string | null;
  created_at?: string | null;
  run_attempt?: number | null;
  files?: string[] | null;
  files_changed?: number | null;
  additions?: number | null;
  deletions?: number | null;
  service_health?: ServiceHealth | null;
  /** Attribution method for the factors (tree models); the scorer's default when absent. */
  attribution?: Attribution | null;
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
  /** The challenger's score while it is on trial (recorded, answered only on its A/B arm). */
  shadow?: { model: ModelInfo; probability: number };
  /** Set when the score could not draw on the repo's (or the branch's) own history: says which is missing. */
  note?: string;
  /** The feature vector the model scored (drift monitoring reuses it instead of computing it again). */
  features?: ArrayLike<number>;
}

/**
 * The one interface of everything that produces probabilities: the registry's champion, the rule-based
 * fallback, the live wrapper (shadow, A/B, drift, alerts), the deferred slot the server starts with, and
 * test doubles. Composed in `chain.ts`.
 */
export interface Scorer {
  score(req: ScoreRequest): Promise<ScoreResult>;
  ready(): boolean;
  info(): (ModelInfo & { loaded_at: string }) | null;
}
