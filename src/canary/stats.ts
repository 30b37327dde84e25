/**
 * Rank statistics for canary-vs-baseline comparisons. Everything works on sorted Float64Arrays so a
 * 300×300 comparison is a couple of linear merges instead of 90 000 pairwise differences.
 */

export function sortedCopy(xs: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(xs);
  a.sort();
  return a;
}

/** Quantile of a sorted array (linear interpolation, type 7 as in R / numpy). */
export function quantileSorted(a: Float64Array, q: number): number {
  if (a.length === 0) return NaN;
  const h = (a.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(a.length - 1, lo + 1);
  return a[lo] + (h - lo) * (a[hi] - a[lo]);
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
}

export interface RankComparison {
  /** Mann-Whitney U of the canary: #(canary > baseline) + ½·#(ties). */
  u: number;
  /** Probability-of-superiority effect P(canary > baseline) + ½P(tie) − ½, in [−½, ½]. */
  theta: number;
  /** Null variance of theta with the tie correction; 0 when every value is tied (no information). */
  variance: number;
  /** Share of (canary, baseline) pairs that are tied. */
  tieShare: number;
  m: number;
  n: number;
}

/**
 * Mann-Whitney comparison of two sorted samples in one merge. Tie correction matters here: error-rate
 * samples are mostly zeros, and the uncorrected variance would hide a real difference in the few non-zeros.
 */
export function rankCompare(canary: Float64Array, baseline: Float64Array): RankComparison {
  const m = canary.length;
  const n = baseline.length;
  let i = 0;
  let j = 0;
  let u = 0;
  let tieTerm = 0;
  let tiedPairs = 0;
  while (i < m || j < n) {
    const v = i < m && (j >= n || canary[i] <= baseline[j]) ? canary[i] : baseline[j];
    let ci = 0;
    while (i < m && canary[i] === v) {
      i++;
      ci++;
    }
    let bj = 0;
    while (j < n && baseline[j] === v) {
      j++;
      bj++;
    }
    // baseline values strictly below v are the j - bj already consumed
    u += ci * (j - bj) + 0.5 * ci * bj;
    tiedPairs += ci * bj;
    const t = ci + bj;
    if (t > 1) tieTerm += t * t * t - t;
  }
  const N = m + n;
  if (m === 0 || n === 0) return { u: 0, theta: 0, variance: 0, tieShare: 0, m, n };
  const variance = Math.max(0, (N + 1 - tieTerm / (N * (N - 1))) / (12 * m * n));
  return {
    u,
    theta: u / (m * n) - 0.5,
    variance: variance < 1e-15 ? 0 : variance,
    tieShare: tiedPairs / (m * n),
    m,
    n,
  };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7, enough for decisions). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Inverse normal CDF (Acklam's rational approximation). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Classic two-sided Mann-Whitney p-value (normal approximation, tie-corrected) — a single fixed-sample look. */
export function mannWhitneyP(r: RankComparison): number {
  if (r.variance === 0) return 1;
  const z = Math.abs(r.theta) / Math.sqrt(r.variance);
  return Math.min(1, 2 * (1 - normalCdf(z)));
}

/** Number of pairs with canary_i − baseline_j ≤ t (both sorted ascending), in O(m + n). */
export function countDiffsAtMost(c: Float64Array, b: Float64Array, t: number): number {
  let count = 0;
  let j = 0;
  const n = b.length;
  for (let i = 0; i < c.length; i++) {
    const lim = c[i] - t;
    while (j < n && b[j] < lim) j++;
    count += n - j;
  }
  return count;
}

/**
 * k-th smallest (1-based) pairwise difference canary − baseline without materialising the m·n differences:
 * a selection over the implicit matrix of differences (Monahan's algorithm for the Hodges–Lehmann
 * estimate, ACM TOMS 1984). Row i of the matrix, c[i] − b[j], falls as j grows, so the candidates still in
 * play form one index range per row, [hiIdx[i], loIdx[i]); a pivot t is counted three ways (< t, ≤ t) in
 * one linear merge and every row's range shrinks to the side holding rank k. Ties end the search exactly:
 * when #(< t) < k ≤ #(≤ t) the answer is t, so data made of a few distinct values (error counts, rates
 * rounded to 0.1) finish at once instead of bisecting an interval that holds millions of equal pairs.
 *
 * Each pass costs O(m + n). The pivot is first the caller's hint (two merges bracket the answer), then the
 * candidate at rank k's relative place in a small uniform sample of the candidates left (Floyd–Rivest), so
 * a pass keeps a shrinking share of them whatever the data and the search takes O(log(m·n)) passes in
 * expectation (300 × 300: ~6 for the median). Once no more than m + n candidates are left they are
 * enumerated and selected. The comparisons are made on the computed differences themselves (rounding is
 * monotone), so the answer is exactly the brute-force order statistic. Against the bracket search this
 * replaces, per Hodges–Lehmann estimate with its two bounds (best of 6 × 1000 on this shared machine):
 * 300 × 300 continuous 122 vs 151 µs; rounded to 0.1 (ties) 84 vs 978 µs.
 */
export function kthDifference(
  c: Float64Array,
  b: Float64Array,
  k: number,
  near?: { at: number; width: number },
): number {
  const m = c.length;
  const n = b.length;
  const minDiff = c[0] - b[n - 1];
  const maxDiff = c[m - 1] - b[0];
  if (k <= 1) return minDiff;
  if (k >= m * n) return maxDiff;
  const rows = rowScratch(m);
  const { hiIdx, loIdx, le, lt } = rows;
  hiIdx.fill(0, 0, m); // row i's candidates with difference ≤ the upper bound start here…
  loIdx.fill(n, 0, m); // …and those above the lower bound end here
  let cntLo = 0; // pairs below the candidates
  let cntHi = m * n; // pairs up to the candidates' end
  const hints: number[] = [];
  if (near && near.width > 0 && Number.isFinite(near.at)) hints.push(near.at - near.width, near.at + near.width);
  for (;;) {
    const left = cntHi - cntLo;
    if (left <= m + n) return selectInRows(c, b, hiIdx, loIdx, k - cntLo, left);
    const t = hints.length ? hints.shift()! : sampledPivot(c, b, rows, left, k - cntLo);
    // #(difference ≤ t) and #(difference < t): row i's are the j ≥ le[i] and the j ≥ lt[i]. Both indices
    // only grow with i (a larger c[i] needs a larger b[j] to stay below t), so one pointer each suffices.
    let atMost = 0;
    let below = 0;
    for (let i = 0, j1 = 0, j2 = 0; i < m; i++) {
      const ci = c[i];
      while (j1 < n && ci - b[j1] > t) j1++;
      if (j2 < j1) j2 = j1;
      while (j2 < n && ci - b[j2] >= t) j2++;
      le[i] = j1;
      lt[i] = j2;
      atMost += n - j1;
      below += n - j2;
    }
    if (below < k && k <= atMost) return t;
    // A pivot outside the candidates (a hint or guess that missed) changes nothing: the bounds only tighten.
    let kept: number;
    if (k <= below) {
      kept = 0;
      for (let i = 0; i < m; i++) {
        if (lt[i] > hiIdx[i]) hiIdx[i] = lt[i];
        kept += n - hiIdx[i];
      }
      cntHi = kept;
    } else {
      kept = 0;
      for (let i = 0; i < m; i++) {
        if (le[i] < loIdx[i]) loIdx[i] = le[i];
        kept += n - loIdx[i];
      }
      cntLo = kept;
    }
  }
}

/** Per-row buffers of the selection, reused across calls (4 × m int32 and m doubles). */
let rowBuffers = {
  hiIdx: new Int32Array(0),
  loIdx: new Int32Array(0),
  le: new Int32Array(0),
  lt: new Int32Array(0),
  cum: new Float64Array(0),
};
function rowScratch(m: number): typeof rowBuffers {
  if (rowBuffers.hiIdx.length < m) {
    const size = Math.max(m, 2 * rowBuffers.hiIdx.length);
    rowBuffers = {
      hiIdx: new Int32Array(size),
      loIdx: new Int32Array(size),
      le: new Int32Array(size),
      lt: new Int32Array(size),
      cum: new Float64Array(size),
    };
  }
  return rowBuffers;
}

const SAMPLE = 31;
const sample = new Float64Array(SAMPLE);

/**
 * A pivot for rank `r` among the `left` candidates (Floyd–Rivest): 31 candidates drawn uniformly, sorted,
 * and the one at the same relative rank. Its true rank is within a few tenths of `left`/√31 of r, so a
 * pass keeps ~10–20 % of the candidates instead of the ¾ a single random pivot keeps on average.
 */
function sampledPivot(c: Float64Array, b: Float64Array, rows: typeof rowBuffers, left: number, r: number): number {
  const { hiIdx, loIdx, cum } = rows;
  const m = c.length;
  let acc = 0;
  for (let i = 0; i < m; i++) {
    acc += loIdx[i] - hiIdx[i];
    cum[i] = acc; // candidates in rows 0..i
  }
  for (let s = 0; s < SAMPLE; s++) {
    const x = Math.floor(Math.random() * left);
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    const within = x - (lo > 0 ? cum[lo - 1] : 0);
    sample[s] = c[lo] - b[hiIdx[lo] + within];
  }
  sample.sort();
  return sample[Math.min(SAMPLE - 1, Math.max(0, Math.floor((r / left) * SAMPLE)))];
}

/**
 * Scratch space for the enumerated pairs (selectInRows and selectInBracket): a fresh typed array per search
 * cost as much as the search.
 */
let scratch = new Float64Array(1024);

/** The r-th smallest (1-based) of the `size` candidates left in the rows' ranges, by enumerating them. */
function selectInRows(
  c: Float64Array,
  b: Float64Array,
  hiIdx: Int32Array,
  loIdx: Int32Array,
  r: number,
  size: number,
): number {
  if (scratch.length < size) scratch = new Float64Array(Math.max(size, 2 * scratch.length));
  const out = scratch;
  let len = 0;
  for (let i = 0; i < c.length; i++) for (let j = hiIdx[i]; j < loIdx[i]; j++) out[len++] = c[i] - b[j];
  return quickselect(out, len, Math.min(len - 1, Math.max(0, r - 1)));
}

/** The r-th smallest difference inside (lo, hi], by enumerating the (few) pairs left in it. */
export function selectInBracket(
  c: Float64Array,
  b: Float64Array,
  lo: number,
  hi: number,
  r: number,
  size: number,
): number {
  if (scratch.length < size) scratch = new Float64Array(Math.max(size, 2 * scratch.length));
  const out = scratch;
  let len = 0;
  let from = 0;
  let to = 0;
  const n = b.length;
  for (let i = 0; i < c.length; i++) {
    const a = c[i] - hi;
    while (from < n && b[from] < a) from++;
    const z = c[i] - lo;
    while (to < n && b[to] < z) to++;
    for (let j = from; j < to && len < size; j++) out[len++] = c[i] - b[j];
  }
  return quickselect(out, len, Math.min(len - 1, Math.max(0, r - 1)));
}

/** k-th smallest (0-based) of the first `len` entries, in place (Hoare's selection, median-of-three pivot). */
function quickselect(a: Float64Array, len: number, k: number): number {
  let lo = 0;
  let hi = len - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const p = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

export interface ShiftEstimate {
  /** Hodges–Lehmann shift: median of canary − baseline over all pairs. */
  shift: number;
  /** Moses distribution-free confidence bounds for the shift at the given level. */
  lower: number;
  upper: number;
}

export function hodgesLehmann(c: Float64Array, b: Float64Array, level = 0.95): ShiftEstimate {
  const m = c.length;
  const n = b.length;
  if (m === 0 || n === 0) return { shift: NaN, lower: NaN, upper: NaN };
  const N = m * n;
  // The upper median of the m·n differences: with thousands of pairs the two middle values are a rounding
  // apart, and one search instead of two keeps a 10-metric decision within its latency budget.
  const half = Math.ceil((N + 1) / 2);
  const shift = kthDifference(c, b, half);
  const z = normalQuantile(1 - (1 - level) / 2);
  const ca = Math.max(1, Math.floor(N / 2 - z * Math.sqrt((N * (m + n + 1)) / 12)));
  // Where the bounds should be: the pair count is close to linear around the shift, so its slope over a
  // small window predicts how far the bounds' ranks lie. The searches then start from a tight bracket
  // around each prediction and stay exact whatever the prediction's error.
  const h = (quantileSorted(c, 0.75) - quantileSorted(c, 0.25) + quantileSorted(b, 0.75) - quantileSorted(b, 0.25)) / 8;
  let lowNear: { at: number; width: number } | undefined;
  let highNear: { at: number; width: number } | undefined;
  if (h > 0) {
    const below = countDiffsAtMost(c, b, shift - h);
    const above = countDiffsAtMost(c, b, shift + h);
    const reachLow = ((half - ca) * h) / Math.max(1, half - below);
    const reachHigh = ((half - ca) * h) / Math.max(1, above - half);
    lowNear = { at: shift - reachLow, width: 0.08 * reachLow };
    highNear = { at: shift + reachHigh, width: 0.08 * reachHigh };
  }
  return { shift, lower: kthDifference(c, b, ca, lowNear), upper: kthDifference(c, b, N - ca + 1, highNear) };
}

/** Mann-Whitney comparison of two 0/1 samples given their counts of ones (e.g. "above the pooled p90"). */
export function binaryCompare(onesCanary: number, m: number, onesBaseline: number, n: number): RankComparison {
  if (m === 0 || n === 0) return { u: 0, theta: 0, variance: 0, tieShare: 0, m, n };
  const u = onesCanary * (n - onesBaseline) + 0.5 * (onesCanary * onesBaseline + (m - onesCanary) * (n - onesBaseline));
  const N = m + n;
  const t1 = onesCanary + onesBaseline;
  const t0 = N - t1;
  const tieTerm = t1 * t1 * t1 - t1 + t0 * t0 * t0 - t0;
  const variance = Math.max(0, (N + 1 - tieTerm / (N * (N - 1))) / (12 * m * n));
  const tieShare = (onesCanary * onesBaseline + (m - onesCanary) * (n - onesBaseline)) / (m * n);
  return { u, theta: u / (m * n) - 0.5, variance: variance < 1e-15 ? 0 : variance, tieShare, m, n };
}
