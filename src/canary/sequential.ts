/**
 * Always-valid inference for a canary that is looked at again and again.
 *
 * Each look yields an approximately normal effect estimate (θ̂, V). Looks over disjoint windows are
 * independent, so their inverse-variance pool is a Gaussian random walk in information time, and the
 * normal-mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari et al. 2017) turns it into
 * p-values and confidence sequences that hold simultaneously over every look. A fixed-sample test repeated
 * at each step would inflate false alarms with the number of steps; this does not.
 *
 * The mixture's bound is loose at the first few looks, where a canary decision is made (a 30-sample
 * interval has a Mann-Whitney θ̂ with sd ≈ 0.075; the mixture's 90 % radius after one look is 0.21, after two
 * 0.15). So every bound here is the intersection of two valid ones, each at half the error rate: the mixture
 * (tight late) and an alpha-spending bound that gives look k the share 6/(π²k²) of the error (a union bound
 * over all looks, however many; tight early: 0.12 after one look, 0.12 after two). Both hold at once with
 * probability ≥ 1 − α, so the intersection does too.
 */
import { normalQuantile } from './stats.ts';

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
  return Math.sqrt(
    ((2 * variance * (variance + t2)) / t2) * (Math.log(1 / alpha) + 0.5 * Math.log((variance + t2) / variance)),
  );
}

export interface ConfidenceSequence {
  estimate: number;
  lower: number;
  upper: number;
}

/** Share of α that look `k` (1-based) may spend: 6/(π²k²), which sums to 1 over all k. */
export function spentAlpha(alpha: number, look: number): number {
  const k = Math.max(1, look);
  return (alpha * 6) / (Math.PI * Math.PI * k * k);
}

/**
 * Half-width of the (1 − α) bound at look `look`: the narrower of the mixture's radius and the
 * alpha-spending radius, each at α/2 (see the header). Without `look` it is the mixture's alone.
 */
export function boundRadius(variance: number, alpha: number, tau: number, look?: number): number {
  if (look === undefined) return csRadius(variance, alpha, tau);
  const mix = csRadius(variance, alpha / 2, tau);
  const spend = normalQuantile(1 - spentAlpha(alpha / 2, look)) * Math.sqrt(variance);
  return Math.min(mix, spend);
}

/**
 * `look` turns on the alpha-spending half of the bound; it must be the index of this look among all looks at
 * the evidence (known before the data, e.g. `ev.looks`), never chosen after seeing it.
 */
export function confidenceSequence(
  ev: Evidence,
  alpha: number,
  tau: number,
  look?: number,
): ConfidenceSequence | undefined {
  const p = pooled(ev);
  if (!p) return undefined;
  const r = boundRadius(p.variance, alpha, tau, look);
  return { estimate: p.estimate, lower: p.estimate - r, upper: p.estimate + r };
}

/**
 * Information (Σ 1/V) at which a bound at `alpha` around an estimate of 0 first excludes ±`margin`:
 * below it no data can yet show a pass, whatever it says — "too thin". Bisection on the log scale.
 */
export function informationNeeded(alpha: number, tau: number, margin: number, look?: number): number {
  let lo = 1e-3;
  let hi = 1e9;
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    if (boundRadius(1 / mid, alpha, tau, look) < margin) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Exact exceedance e-value of one look: of the `r` pooled samples beyond a threshold that depends on the
 * pooled samples only, `k` are the canary's (`m` canary, `n` baseline samples). If the canary's and the
 * baseline's samples are exchangeable, k is hypergeometric given the pooled values, ties and all, and the
 * likelihood ratio of Fisher's non-central hypergeometric with odds ψ against ψ = 1 — ψ^k / E₀[ψ^K] — has
 * expectation 1. A mixture of such ratios over a grid of ψ (and of thresholds) is still an e-value, and a
 * product of e-values over looks on disjoint samples is a test supermartingale: by Ville's inequality it
 * exceeds 1/α with probability ≤ α over all looks, however many.
 */
export function exceedanceE(
  k: number,
  r: number,
  m: number,
  n: number,
  psis: readonly number[],
  weights: readonly number[],
  each?: number[],
): number {
  if (r <= 0 || m <= 0 || n <= 0) {
    if (each) for (let g = 0; g < psis.length; g++) each[g] = 1;
    return 1;
  }
  // Hypergeometric pmf over j = lo…hi, unnormalized from pmf(lo) = 1 by the ratio recursion (no factorials),
  // in logs once per look; each ψ then needs one exp per j (the decision path: 10 metrics × 4 levels).
  const lo = Math.max(0, r - n);
  const hi = Math.min(r, m);
  const len = hi - lo + 1;
  if (PMF.length < len) PMF = new Float64Array(Math.max(len, 2 * PMF.length));
  let term = 0;
  let top = 0;
  for (let j = lo; j <= hi; j++) {
    if (j > lo) term += Math.log(((m - j + 1) * (r - j + 1)) / (j * (n - r + j)));
    PMF[j - lo] = term;
    if (term > top) top = term;
  }
  let den = 0;
  for (let i = 0; i < len; i++) den += Math.exp(PMF[i] - top);
  let e = 0;
  for (let g = 0; g < psis.length; g++) {
    const lpsi = Math.log(psis[g]);
    // ψ^k / E₀[ψ^K], with E₀[ψ^K] = Σ pmf(j)·ψ^(j−lo) / Σ pmf(j) · ψ^lo, scaled by its largest term.
    let mx = -Infinity;
    for (let i = 0; i < len; i++) mx = Math.max(mx, PMF[i] + i * lpsi);
    let num = 0;
    for (let i = 0; i < len; i++) num += Math.exp(PMF[i] + i * lpsi - mx);
    const eg = Math.exp((k - lo) * lpsi - (mx - top) - Math.log(num / den));
    if (each) each[g] = eg;
    e += weights[g] * eg;
  }
  return e;
}

/** Reused log-pmf buffer of exceedanceE (synchronous, so one serves every call). */
let PMF = new Float64Array(256);
