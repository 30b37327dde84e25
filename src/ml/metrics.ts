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

/** Mann–Whitney formulation with average ranks, so tied scores count as half-correct pairs. */
export function rocAuc(y: Arr, p: Arr): number {
  checkLengths(y, p, 'rocAuc');
  const n = y.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => p[a] - p[b]);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
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
  const n = y.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) totalPos++;
  if (totalPos === 0 || totalPos === n) return totalPos === 0 ? NaN : 1;
  const idx = orderDesc(p);
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]] === 1) tp++;
      else fp++;
      j++;
    }
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    i = j;
  }
  return ap;
}

export function confusion(y: Arr, p: Arr, threshold: number): { tp: number; fp: number; tn: number; fn: number } {
  checkLengths(y, p, 'confusion');
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = p[i] >= threshold;
    if (y[i] === 1) pred ? tp++ : fn++;
    else pred ? fp++ : tn++;
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
  const n = y.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) totalPos++;
  if (totalPos === 0) return { threshold: Infinity, f1: 0 };
  const idx = orderDesc(p);
  let tp = 0, fp = 0;
  let best = { threshold: Infinity, f1: 0 };
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]] === 1) tp++;
      else fp++;
      j++;
    }
    const f1 = (2 * tp) / (2 * tp + fp + (totalPos - tp));
    if (f1 > best.f1) best = { threshold: p[idx[i]], f1 };
    i = j;
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
  const n = y.length;
  let P = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) P++;
  const N = n - P;
  if (P === 0 || N === 0) return { fpr: [], tpr: [] };
  const idx = orderDesc(p);
  const fpr = [0], tpr = [0];
  let tp = 0, fp = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]] === 1) tp++;
      else fp++;
      j++;
    }
    fpr.push(fp / N);
    tpr.push(tp / P);
    i = j;
  }
  return thin({ fpr, tpr }, points);
}

/** Precision/recall at each distinct threshold (descending), starting at recall 0, precision 1. */
export function prCurve(y: Arr, p: Arr, points?: number): { recall: number[]; precision: number[] } {
  checkLengths(y, p, 'prCurve');
  const n = y.length;
  let P = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) P++;
  if (P === 0) return { recall: [], precision: [] };
  const idx = orderDesc(p);
  const recall = [0], precision = [1];
  let tp = 0, fp = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]] === 1) tp++;
      else fp++;
      j++;
    }
    recall.push(tp / P);
    precision.push(tp / (tp + fp));
    i = j;
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
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`calibrationBins: bins must be a positive integer, got ${bins}`);
  const sumP = new Float64Array(bins), sumY = new Float64Array(bins), cnt = new Float64Array(bins);
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
