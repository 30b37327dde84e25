/**
 * Evaluation metrics for binary failure prediction. All pure.
 * Degenerate inputs: with one class only, rocAuc is NaN (undefined; sklearn raises); prAuc is NaN
 * without positives and 1 when every row is positive; f1/precision/recall report 0/0 as 0;
 * brier/logLoss of empty input are NaN.
 */
type Arr = ArrayLike<number>;

function checkLengths(y: Arr, p: Arr, fn: string): void {
  if (y.length !== p.length) throw new RangeError(`${fn}: y has ${y.length} items but p has ${p.length}`);
}

/** Indices sorted by descending score; stable so ties keep input order (ties are then grouped). */
function orderDesc(p: Arr): Uint32Array {
  const idx = new Uint32Array(p.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const s = Float64Array.from(p as ArrayLike<number>);
  return idx.sort((a, b) => s[b] - s[a] || a - b);
}

/**
 * Every distinct score taken as a ">= threshold" cut, highest first, with the true and false positives
 * it lets through (cumulative). The one sorted pass behind prAuc, bestF1Threshold, rocCurve and prCurve.
 */
export interface ThresholdSweep {
  threshold: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
  positives: number;
  negatives: number;
}

export function thresholdSweep(y: Arr, p: Arr): ThresholdSweep {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  const idx = orderDesc(p);
  const threshold = new Float64Array(n),
    tps = new Float64Array(n),
    fps = new Float64Array(n);
  let tp = 0,
    fp = 0,
    k = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]] === 1) tp++;
      else fp++;
      j++;
    }
    threshold[k] = p[idx[i]];
    tps[k] = tp;
    fps[k++] = fp;
    i = j;
  }
  return {
    threshold: threshold.subarray(0, k),
    tp: tps.subarray(0, k),
    fp: fps.subarray(0, k),
    positives,
    negatives: n - positives,
  };
}

/** Mann–Whitney formulation with average ranks, so tied scores count as half-correct pairs. */
export function rocAuc(y: Arr, p: Arr): number {
  checkLengths(y, p, 'rocAuc');
  const n = y.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => p[a] - p[b]);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && p[idx[j + 1]] === p[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k]] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision: sum over distinct thresholds of (R_k - R_{k-1}) * P_k, like sklearn. */
export function prAuc(y: Arr, p: Arr): number {
  checkLengths(y, p, 'prAuc');
  const { tp, fp, positives, negatives } = thresholdSweep(y, p);
  if (positives === 0 || negatives === 0) return positives === 0 ? NaN : 1;
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < tp.length; k++) {
    const recall = tp[k] / positives;
    ap += (recall - prevRecall) * (tp[k] / (tp[k] + fp[k]));
    prevRecall = recall;
  }
  return ap;
}

export function confusion(y: Arr, p: Arr, threshold: number): { tp: number; fp: number; tn: number; fn: number } {
  checkLengths(y, p, 'confusion');
  let tp = 0,
    fp = 0,
    tn = 0,
    fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = p[i] >= threshold;
    if (y[i] === 1) {
      if (pred) tp++;
      else fn++;
    } else if (pred) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/** Predicted positive when p >= threshold. Undefined ratios (0/0) are reported as 0. */
export function f1At(y: Arr, p: Arr, threshold: number): { f1: number; precision: number; recall: number } {
  const { tp, fp, fn } = confusion(y, p, threshold);
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { f1, precision, recall };
}

/**
 * Scans every distinct score as a ">= threshold" cut in one sorted pass. With no positives at all
 * the F1 is 0 everywhere and the threshold returned is +Infinity (never alarm).
 */
export function bestF1Threshold(y: Arr, p: Arr): { threshold: number; f1: number } {
  checkLengths(y, p, 'bestF1Threshold');
  const { threshold, tp, fp, positives } = thresholdSweep(y, p);
  let best = { threshold: Infinity, f1: 0 };
  if (positives === 0) return best;
  for (let k = 0; k < tp.length; k++) {
    const f1 = (2 * tp[k]) / (2 * tp[k] + fp[k] + (positives - tp[k]));
    if (f1 > best.f1) best = { threshold: threshold[k], f1 };
  }
  return best;
}

export function brier(y: Arr, p: Arr): number {
  checkLengths(y, p, 'brier');
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
}

export function logLoss(y: Arr, p: Arr, eps = 1e-15): number {
  checkLengths(y, p, 'logLoss');
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Pick `points` evenly spaced indices of a curve (always keeping both ends) so plots stay small. */
function thin<T extends Record<string, number[]>>(curve: T, points: number | undefined): T {
  const keys = Object.keys(curve) as (keyof T)[];
  const len = curve[keys[0]].length;
  if (!points || points < 2 || len <= points) return curve;
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as unknown as T;
  for (let k = 0; k < points; k++) {
    const i = Math.round((k * (len - 1)) / (points - 1));
    for (const key of keys) out[key].push(curve[key][i]);
  }
  return out;
}

/** ROC points at each distinct threshold, from (0,0) to (1,1). Empty curve when a class is absent. */
export function rocCurve(y: Arr, p: Arr, points?: number): { fpr: number[]; tpr: number[] } {
  checkLengths(y, p, 'rocCurve');
  const { tp, fp, positives: P, negatives: N } = thresholdSweep(y, p);
  if (P === 0 || N === 0) return { fpr: [], tpr: [] };
  const fpr = [0],
    tpr = [0];
  for (let k = 0; k < tp.length; k++) {
    fpr.push(fp[k] / N);
    tpr.push(tp[k] / P);
  }
  return thin({ fpr, tpr }, points);
}

/** Precision/recall at each distinct threshold (descending), starting at recall 0, precision 1. */
export function prCurve(y: Arr, p: Arr, points?: number): { recall: number[]; precision: number[] } {
  checkLengths(y, p, 'prCurve');
  const { tp, fp, positives: P } = thresholdSweep(y, p);
  if (P === 0) return { recall: [], precision: [] };
  const recall = [0],
    precision = [1];
  for (let k = 0; k < tp.length; k++) {
    recall.push(tp[k] / P);
    precision.push(tp[k] / (tp[k] + fp[k]));
  }
  return thin({ recall, precision }, points);
}

/** Equal-width probability bins over [0,1]; empty bins are omitted so every point is plottable. */
export function calibrationBins(
  y: Arr,
  p: Arr,
  bins = 10,
): { mean_predicted: number[]; observed: number[]; count: number[] } {
  checkLengths(y, p, 'calibrationBins');
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`calibrationBins: bins must be a positive integer, got ${bins}`);
  const sumP = new Float64Array(bins),
    sumY = new Float64Array(bins),
    cnt = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i] * bins)));
    sumP[b] += p[i];
    sumY[b] += y[i];
    cnt[b]++;
  }
  const out = { mean_predicted: [] as number[], observed: [] as number[], count: [] as number[] };
  for (let b = 0; b < bins; b++) {
    if (cnt[b] === 0) continue;
    out.mean_predicted.push(sumP[b] / cnt[b]);
    out.observed.push(sumY[b] / cnt[b]);
    out.count.push(cnt[b]);
  }
  return out;
}
