/**
 * Always-valid inference for a canary that is looked at again and again.
 *
 * Each look yields an approximately normal effect estimate (θ̂, V). Looks over disjoint windows are
 * independent, so their inverse-variance pool is a Gaussian random walk in information time, and the
 * normal-mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari et al. 2017) turns it into
 * p-values and confidence sequences that hold simultaneously over every look. A fixed-sample test repeated
 * at each step would inflate false alarms with the number of steps; this does not.
 */

export interface Evidence {
  /** Σ 1/V over looks (Fisher information). */
  w: number;
  /** Σ θ̂/V. */
  wx: number;
  /** Σ rel/V: the practical (relative) effect pooled with the same weights. */
  wr: number;
  /** Relative effect of the latest informative look: a drifting effect (a leak) shows here first. */
  last: number;
  looks: number;
}

export const EMPTY_EVIDENCE: Evidence = Object.freeze({ w: 0, wx: 0, wr: 0, last: 0, looks: 0 });

/** Caps the relative effect so a zero baseline (infinite relative change) stays finite in the pool. */
const REL_CAP = 1e6;

export function addLook(ev: Evidence, theta: number, variance: number, rel: number): Evidence {
  if (!(variance > 0) || !Number.isFinite(theta)) return { ...ev, looks: ev.looks + 1 };
  const w = 1 / variance;
  const r = Math.max(-REL_CAP, Math.min(REL_CAP, Number.isNaN(rel) ? 0 : rel));
  return { w: ev.w + w, wx: ev.wx + w * theta, wr: ev.wr + w * r, last: r, looks: ev.looks + 1 };
}

export interface Pooled {
  estimate: number;
  variance: number;
  relative: number;
  last: number;
}

export function pooled(ev: Evidence): Pooled | undefined {
  if (!(ev.w > 0)) return undefined;
  return { estimate: ev.wx / ev.w, variance: 1 / ev.w, relative: ev.wr / ev.w, last: ev.last ?? 0 };
}

/** log of the normal-mixture likelihood ratio against θ = theta0 with mixing variance tau². */
export function logMixtureLR(estimate: number, variance: number, theta0: number, tau: number): number {
  const t2 = tau * tau;
  const d = estimate - theta0;
  return 0.5 * Math.log(variance / (variance + t2)) + (t2 * d * d) / (2 * variance * (variance + t2));
}

/** Always-valid p-value for H0: θ = theta0 (Ville: P(ever ≤ α) ≤ α under H0). */
export function alwaysValidP(estimate: number, variance: number, theta0: number, tau: number): number {
  return Math.min(1, Math.exp(-logMixtureLR(estimate, variance, theta0, tau)));
}

/** Half-width of the (1 − α) confidence sequence around the pooled estimate. */
export function csRadius(variance: number, alpha: number, tau: number): number {
  const t2 = tau * tau;
  return Math.sqrt(((2 * variance * (variance + t2)) / t2) * (Math.log(1 / alpha) + 0.5 * Math.log((variance + t2) / variance)));
}

export interface ConfidenceSequence {
  estimate: number;
  lower: number;
  upper: number;
}

export function confidenceSequence(ev: Evidence, alpha: number, tau: number): ConfidenceSequence | undefined {
  const p = pooled(ev);
  if (!p) return undefined;
  const r = csRadius(p.variance, alpha, tau);
  return { estimate: p.estimate, lower: p.estimate - r, upper: p.estimate + r };
}
