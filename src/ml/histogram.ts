/**
 * Quantile binning and gradient histograms: the hot core of the tree learners.
 * Bin 0 is reserved for missing values (NaN); value bins are 1..nBins[f] (at most 255), so a bin
 * matrix fits a Uint8Array. The matrix is column-major (feature f occupies [f*n, (f+1)*n)) because
 * histogram building walks one feature at a time.
 */
export const MISSING_BIN = 0;
export const MAX_BINS = 256; // including the missing bin
/** Histogram stride per bin: gradient, hessian, row count. */
export const STATS = 3;
export const HIST_FEATURE_STRIDE = MAX_BINS * STATS;

export interface BinMapper {
  /** upper[f][k] = inclusive upper edge of value bin k+1; the last edge is +Infinity. */
  upper: Float64Array[];
  nBins: Uint16Array; // number of value bins per feature (0 if the feature was always missing)
}

/**
 * Edges are midpoints between adjacent distinct values (LightGBM-style) chosen at equal-count
 * quantiles, so heavy ties do not waste bins. Fit on at most `sampleRows` rows to bound sorting cost.
 */
export function fitBins(X: Float32Array, n: number, d: number, maxBins = 255, sampleRows = 200_000): BinMapper {
  if (maxBins < 2 || maxBins > 255) throw new RangeError(`fitBins: maxBins must be in [2, 255], got ${maxBins}`);
  const step = n > sampleRows ? n / sampleRows : 1;
  const m = Math.min(n, sampleRows);
  const upper: Float64Array[] = [];
  const nBins = new Uint16Array(d);
  const buf = new Float64Array(m);
  for (let f = 0; f < d; f++) {
    let k = 0;
    for (let s = 0; s < m; s++) {
      const v = X[Math.floor(s * step) * d + f];
      if (v === v) buf[k++] = v;
    }
    const vals = buf.subarray(0, k).sort();
    // distinct values with their counts
    const distinct: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < k; ) {
      let j = i;
      while (j < k && vals[j] === vals[i]) j++;
      distinct.push(vals[i]);
      counts.push(j - i);
      i = j;
    }
    const edges: number[] = [];
    if (distinct.length <= maxBins) {
      for (let i = 0; i + 1 < distinct.length; i++) edges.push((distinct[i] + distinct[i + 1]) / 2);
    } else {
      // Greedy equal-count cuts over distinct values; a value heavier than a bin gets its own bin.
      const perBin = k / maxBins;
      let acc = 0;
      for (let i = 0; i + 1 < distinct.length && edges.length < maxBins - 1; i++) {
        acc += counts[i];
        const target = perBin * (edges.length + 1);
        if (acc >= target || counts[i + 1] >= perBin) edges.push((distinct[i] + distinct[i + 1]) / 2);
      }
    }
    if (distinct.length > 0) edges.push(Infinity);
    upper.push(Float64Array.from(edges));
    nBins[f] = edges.length;
  }
  return { upper, nBins };
}

/** Bin of a raw value: 0 for NaN, else the first k with v <= upper[k-1] (binary search). */
export function binOf(upper: Float64Array, v: number): number {
  if (v !== v) return MISSING_BIN;
  let lo = 0, hi = upper.length - 1;
  if (hi < 0) return MISSING_BIN; // never-seen feature: nothing to compare against
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= upper[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

/** Column-major Uint8 bin matrix for row-major X. */
export function applyBins(mapper: BinMapper, X: Float32Array, n: number, d: number): Uint8Array {
  const bins = new Uint8Array(n * d);
  for (let f = 0; f < d; f++) {
    const up = mapper.upper[f];
    const off = f * n;
    for (let i = 0; i < n; i++) bins[off + i] = binOf(up, X[i * d + f]);
  }
  return bins;
}

/**
 * Accumulates (g, h, 1) per bin for the rows rows[start..end) into hist (zeroed here for `feats`).
 * og/oh are scratch buffers that receive the node's gradients in partition order, so the inner loop
 * reads gradients sequentially and only the bin column is gathered.
 */
export function buildHistogram(
  hist: Float64Array,
  bins: Uint8Array,
  n: number,
  feats: Int32Array,
  nFeats: number,
  rows: Uint32Array,
  start: number,
  end: number,
  g: Float32Array,
  h: Float32Array,
  og: Float32Array,
  oh: Float32Array,
  contiguousAll: boolean,
): void {
  const m = end - start;
  if (!contiguousAll) {
    for (let k = 0; k < m; k++) {
      const r = rows[start + k];
      og[k] = g[r];
      oh[k] = h[r];
    }
  }
  const G = contiguousAll ? g : og;
  const H = contiguousAll ? h : oh;
  for (let fi = 0; fi < nFeats; fi++) {
    const base = feats[fi] * HIST_FEATURE_STRIDE;
    hist.fill(0, base, base + HIST_FEATURE_STRIDE);
  }
  let fi = 0;
  // Four features per pass over the rows: the row index and gradient loads are shared, which is
  // most of the cost once the bin gather hits cache.
  for (; fi + 4 <= nFeats; fi += 4) {
    const b0 = feats[fi] * HIST_FEATURE_STRIDE, b1 = feats[fi + 1] * HIST_FEATURE_STRIDE;
    const b2 = feats[fi + 2] * HIST_FEATURE_STRIDE, b3 = feats[fi + 3] * HIST_FEATURE_STRIDE;
    const c0 = feats[fi] * n, c1 = feats[fi + 1] * n, c2 = feats[fi + 2] * n, c3 = feats[fi + 3] * n;
    for (let k = 0; k < m; k++) {
      const r = contiguousAll ? k : rows[start + k];
      const gv = G[k], hv = H[k];
      let o = b0 + bins[c0 + r] * 3;
      hist[o] += gv; hist[o + 1] += hv; hist[o + 2] += 1;
      o = b1 + bins[c1 + r] * 3;
      hist[o] += gv; hist[o + 1] += hv; hist[o + 2] += 1;
      o = b2 + bins[c2 + r] * 3;
      hist[o] += gv; hist[o + 1] += hv; hist[o + 2] += 1;
      o = b3 + bins[c3 + r] * 3;
      hist[o] += gv; hist[o + 1] += hv; hist[o + 2] += 1;
    }
  }
  for (; fi < nFeats; fi++) {
    const base = feats[fi] * HIST_FEATURE_STRIDE;
    const col = feats[fi] * n;
    for (let k = 0; k < m; k++) {
      const o = base + bins[col + (contiguousAll ? k : rows[start + k])] * 3;
      hist[o] += G[k];
      hist[o + 1] += H[k];
      hist[o + 2] += 1;
    }
  }
}

/** Sibling histogram by subtraction: into = parent - child (for `feats`), in place on `into`. */
export function subtractHistogram(into: Float64Array, parent: Float64Array, child: Float64Array, feats: Int32Array, nFeats: number, nBins: Uint16Array): void {
  for (let fi = 0; fi < nFeats; fi++) {
    const f = feats[fi];
    const base = f * HIST_FEATURE_STRIDE;
    const stop = base + (nBins[f] + 1) * STATS;
    for (let o = base; o < stop; o++) into[o] = parent[o] - child[o];
  }
}
