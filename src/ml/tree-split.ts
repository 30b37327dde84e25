/**
 * Split finding over a leaf's histogram (LightGBM's feature_histogram): the open leaf being grown, when it
 * may split at all, and its best split in quantized gradient units.
 */
import { gradPart, HIST_FEATURE_STRIDE, type GradientCode } from './histogram.ts';

/** What split finding reads of the growth parameters (see GrowParams in tree-grower.ts). */
export interface SplitParams {
  maxDepth: number;
  minDataInLeaf: number;
  minSumHessian: number;
  lambdaL2: number;
}

/** An open leaf: its node, its segment rows[start..end) and, once evaluated, its best split. */
export interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array | null; // dropped for some open leaves to bound memory on deep trees
  C: number; // rows
  // best split
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
}

export const leafOf = (node: number, start: number, end: number, depth: number, hist: Float64Array | null): Leaf => ({
  node,
  start,
  end,
  depth,
  hist,
  C: end - start,
  gain: 0,
  feature: -1,
  bin: 0,
  defaultLeft: false,
});

export function splittable(leaf: Leaf, p: SplitParams): boolean {
  return leaf.depth < p.maxDepth && leaf.C >= 2 * p.minDataInLeaf;
}

/**
 * Best split of a leaf over its histogram `hist`, in quantized units: totals come from one feature's bins
 * (every row lands in exactly one bin of each). A side's row count comes from `counts` when given, else
 * it is estimated from its hessian share, as LightGBM does once histograms carry no counts. Sets the
 * leaf's gain (0 = no split), feature, bin and defaultLeft.
 */
export function findSplit(
  leaf: Leaf,
  hist: Float64Array,
  cand: Int32Array,
  nCand: number,
  p: SplitParams,
  code: GradientCode,
  nBins: Uint16Array,
  counts?: Float64Array,
): void {
  leaf.gain = 0;
  leaf.feature = -1;
  if (!splittable(leaf, p)) return;
  const { gScale, hScale, radix } = code;
  let total = 0;
  for (let b = 0, base = cand[0] * HIST_FEATURE_STRIDE; b <= nBins[cand[0]]; b++) total += hist[base + b];
  const G = gradPart(total, radix),
    H = total - G * radix;
  const minC = p.minDataInLeaf,
    minH = p.minSumHessian / hScale;
  if (!(H > 0) || H < 2 * minH) return;
  const C = leaf.C;
  const perH = C / H;
  const lam = p.lambdaL2 / hScale;
  const parentScore = (G * G) / (H + lam);
  let bestGain = 0,
    bestF = -1,
    bestBin = 0,
    bestDL = false;
  for (let fi = 0; fi < nCand; fi++) {
    const f = cand[fi];
    const base = f * HIST_FEATURE_STRIDE;
    const nb = nBins[f];
    const mv = hist[base];
    const mG = gradPart(mv, radix),
      mH = mv - mG * radix;
    const mC = counts ? counts[base] : mH * perH;
    const hasMissing = counts ? mC > 0 : mv !== 0;
    let gl = 0,
      hl = 0,
      rowsLeft = 0;
    for (let b = 1; b <= nb; b++) {
      const v = hist[base + b];
      const bg = gradPart(v, radix);
      gl += bg;
      hl += v - bg * radix;
      // missing goes right
      let hr = H - hl;
      let cl = counts ? (rowsLeft += counts[base + b]) : hl * perH;
      let cr = C - cl;
      if (cl >= minC && cr >= minC && hl >= minH && hr >= minH) {
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lam) + (gr * gr) / (hr + lam) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestF = f;
          bestBin = b;
          bestDL = !hasMissing && cl >= cr;
        }
      }
      if (hasMissing) {
        // missing goes left
        const hl2 = hl + mH;
        hr = H - hl2;
        cl += mC;
        cr = C - cl;
        if (cl >= minC && cr >= minC && hl2 >= minH && hr >= minH) {
          const gl2 = gl + mG,
            gr = G - gl2;
          const gain = (gl2 * gl2) / (hl2 + lam) + (gr * gr) / (hr + lam) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestF = f;
            bestBin = b;
            bestDL = true;
          }
        }
      }
    }
  }
  // back to real units: gain scales with g² / h
  leaf.gain = (bestGain * gScale * gScale) / hScale;
  leaf.feature = bestF;
  leaf.bin = bestBin;
  leaf.defaultLeft = bestDL;
}

/**
 * Whether every row of the segment has the same g/h (a forest node whose rows all share a label): no
 * split can gain anything, but the rounding of quantized gradients would show tiny gains, and the
 * forest would split pure nodes on noise. Boosting's rows differ at once, so this costs it nothing.
 */
export function uniformRatio(g: Float32Array, h: Float32Array, rows: Uint32Array, start: number, end: number): boolean {
  const r0 = rows[start];
  const g0 = g[r0],
    h0 = h[r0];
  for (let k = start + 1; k < end; k++) {
    const r = rows[k];
    if (g[r] * h0 !== g0 * h[r]) return false;
  }
  return true;
}
