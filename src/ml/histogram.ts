/**
 * Quantile binning, quantized gradients and their histograms: the hot core of the tree learners.
 * Bin 0 is reserved for missing values (NaN); value bins are 1..nBins[f] (at most 255), so a bin
 * matrix fits a Uint8Array. The matrix is column-major (feature f occupies [f*n, (f+1)*n)) because
 * histogram building walks one feature at a time.
 */
export const MISSING_BIN = 0;
export const MAX_BINS = 256; // including the missing bin
/** One packed (gradient, hessian) sum per bin: see `quantizeGradients`. */
export const HIST_FEATURE_STRIDE = MAX_BINS;

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
  const buf = new Float32Array(m);
  const tmp = new Uint32Array(m);
  for (let f = 0; f < d; f++) {
    let k = 0;
    for (let s = 0; s < m; s++) {
      const v = X[Math.floor(s * step) * d + f];
      if (v === v) buf[k++] = v;
    }
    const vals = sortFloat32(buf.subarray(0, k), tmp);
    // distinct values with their counts
    const distinct: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < k;) {
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

/**
 * Sorts NaN-free float32 values ascending (−0 before +0, as TypedArray#sort) by three 11-bit radix
 * passes over their bit patterns made order-preserving: a third of the time of a comparison sort, and
 * binning sorts every feature's sample.
 */
export function sortFloat32(vals: Float32Array, tmp: Uint32Array): Float32Array {
  const k = vals.length;
  const a = new Uint32Array(vals.buffer, vals.byteOffset, k);
  const b = tmp.subarray(0, k);
  const counts = new Uint32Array(3 * 2048);
  for (let i = 0; i < k; i++) {
    const u = a[i];
    // negatives: flip every bit (larger magnitude sorts first); positives: set the sign bit
    const key = (u & 0x80000000 ? ~u : u | 0x80000000) >>> 0;
    a[i] = key;
    counts[key & 2047]++;
    counts[2048 + ((key >>> 11) & 2047)]++;
    counts[4096 + (key >>> 22)]++;
  }
  let src = a,
    dst = b;
  for (let pass = 0; pass < 3; pass++) {
    const off = pass * 2048,
      shift = pass * 11;
    let sum = 0;
    for (let i = 0; i < 2048; i++) {
      const c = counts[off + i];
      counts[off + i] = sum;
      sum += c;
    }
    for (let i = 0; i < k; i++) {
      const key = src[i];
      dst[counts[off + ((key >>> shift) & 2047)]++] = key;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  // three passes leave the keys in `b`; undo the key transform into the caller's array
  for (let i = 0; i < k; i++) {
    const key = src[i];
    a[i] = (key & 0x80000000 ? key & 0x7fffffff : ~key) >>> 0;
  }
  return vals;
}

/** Bin of a raw value: 0 for NaN, else the first k with v <= upper[k-1] (binary search). */
export function binOf(upper: Float64Array, v: number): number {
  if (v !== v) return MISSING_BIN;
  let lo = 0,
    hi = upper.length - 1;
  if (hi < 0) return MISSING_BIN; // never-seen feature: nothing to compare against
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= upper[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

/**
 * Column-major Uint8 bin matrix for row-major X (the same bins as `binOf`). The search runs over the
 * edges padded to 256 in eight fixed, branch-free steps: a binary search's turns are unpredictable.
 */
export function applyBins(mapper: BinMapper, X: Float32Array, n: number, d: number): Uint8Array {
  const bins = new Uint8Array(n * d);
  const pad = new Float64Array(256);
  const col = new Float32Array(n);
  for (let f = 0; f < d; f++) {
    const up = mapper.upper[f];
    if (up.length === 0) continue; // never seen: every row is missing (bin 0)
    pad.fill(Infinity);
    pad.set(up);
    // the strided column first, then the search over it: together they are slower than apart
    for (let i = 0; i < n; i++) col[i] = X[i * d + f];
    const off = f * n;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      let k = +(v > pad[127]) << 7;
      k += +(v > pad[k + 63]) << 6;
      k += +(v > pad[k + 31]) << 5;
      k += +(v > pad[k + 15]) << 4;
      k += +(v > pad[k + 7]) << 3;
      k += +(v > pad[k + 3]) << 2;
      k += +(v > pad[k + 1]) << 1;
      k += +(v > pad[k]);
      bins[off + i] = v === v ? k + 1 : MISSING_BIN;
    }
  }
  return bins;
}

/** How a tree's packed gradients decode: value = gq · radix + hq, real g = gq · gScale, real h = hq · hScale. */
export interface GradientCode {
  gScale: number;
  hScale: number;
  radix: number;
}

/**
 * Quantized training (LightGBM's `use_quantized_grad`): each row's gradient and hessian are rounded
 * stochastically (so every sum is unbiased) to small integers and packed into one double,
 * gq · radix + hq. Integer sums of up to 2^53 are exact, so one addition per (row, feature) accumulates
 * both, where float histograms need a slot — and a read-modify-write — for each; and a sibling's
 * histogram by subtraction is exact. The levels shrink as the row count grows, so no bin's sum can
 * overflow its field. Leaf outputs are still computed from the exact gradients.
 */
export function quantizeGradients(
  g: Float32Array,
  h: Float32Array,
  rows: Uint32Array,
  nRows: number,
  out: Float64Array,
  seed: number,
): GradientCode {
  const rowBits = Math.ceil(Math.log2(nRows + 1));
  // |Σgq| ≤ nRows·gLevels needs rowBits + gBits (+ sign), Σhq ≤ nRows·hLevels needs rowBits + hBits.
  const budget = 52 - 2 * rowBits;
  if (budget < 2)
    throw new RangeError(`quantizeGradients: ${nRows} rows are too many for one tree (at most ${2 ** 25 - 1})`);
  // as many levels as the sums leave room for: the packing costs the same however fine it is
  const gBits = budget >> 1;
  const hBits = budget - gBits;
  const gLevels = 2 ** gBits - 1,
    hLevels = 2 ** hBits - 1;
  let maxG = 0,
    maxH = 0;
  for (let k = 0; k < nRows; k++) {
    const r = rows[k];
    const ag = Math.abs(g[r]);
    if (ag > maxG) maxG = ag;
    if (h[r] > maxH) maxH = h[r];
  }
  const gScale = maxG > 0 ? maxG / gLevels : 1;
  const hScale = maxH > 0 ? maxH / hLevels : 1;
  const radix = 2 ** (rowBits + hBits);
  const gInv = 1 / gScale,
    hInv = 1 / hScale;
  let x = seed >>> 0 || 0x9e3779b9;
  for (let k = 0; k < nRows; k++) {
    const r = rows[k];
    // xorshift32: 16 random bits for each of the two roundings
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x & 0xffff) / 65536,
      v = (x >>> 16) / 65536;
    let gq = Math.floor(g[r] * gInv + u);
    if (gq > gLevels) gq = gLevels;
    else if (gq < -gLevels) gq = -gLevels;
    let hq = Math.floor(h[r] * hInv + v);
    if (hq > hLevels) hq = hLevels;
    else if (hq < 0) hq = 0;
    out[r] = gq * radix + hq;
  }
  return { gScale, hScale, radix };
}

/** Quantized gradient sum of a packed value (the hessian part is `v - gradPart(v, radix) * radix`). */
export const gradPart = (v: number, radix: number): number => Math.floor(v / radix);

/**
 * Accumulates the packed gradients of rows[start..end) per bin into hist (zeroed here for `feats`).
 * `ordered` is scratch that receives the node's packed gradients in partition order, so the inner loop
 * reads them sequentially and only the bin column is gathered.
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
  gh: Float64Array,
  ordered: Float64Array,
  contiguousAll: boolean,
): void {
  const P = orderGradients(rows, start, end, gh, ordered, contiguousAll);
  accumulateHistogram(hist, bins, n, feats, 0, nFeats, rows, start, end, P, contiguousAll);
}

/** The node's packed gradients in partition order (or all of them, when the node is every row in order). */
export function orderGradients(
  rows: Uint32Array,
  start: number,
  end: number,
  gh: Float64Array,
  ordered: Float64Array,
  contiguousAll: boolean,
): Float64Array {
  if (contiguousAll) return gh;
  for (let k = 0, m = end - start; k < m; k++) ordered[k] = gh[rows[start + k]];
  return ordered;
}

/** buildHistogram's sums for features feats[from..to), with the gradients already in partition order. */
export function accumulateHistogram(
  hist: Float64Array,
  bins: Uint8Array,
  n: number,
  feats: Int32Array,
  from: number,
  to: number,
  rows: Uint32Array,
  start: number,
  end: number,
  P: Float64Array,
  contiguousAll: boolean,
): void {
  const m = end - start;
  for (let fi = from; fi < to; fi++) {
    const base = feats[fi] * HIST_FEATURE_STRIDE;
    hist.fill(0, base, base + HIST_FEATURE_STRIDE);
  }
  let fi = from;
  // Four features per pass over the rows: the row index and gradient loads are shared, which is
  // most of the cost once the bin gather hits cache.
  for (; fi + 4 <= to; fi += 4) {
    const b0 = feats[fi] * HIST_FEATURE_STRIDE,
      b1 = feats[fi + 1] * HIST_FEATURE_STRIDE;
    const b2 = feats[fi + 2] * HIST_FEATURE_STRIDE,
      b3 = feats[fi + 3] * HIST_FEATURE_STRIDE;
    const c0 = feats[fi] * n,
      c1 = feats[fi + 1] * n,
      c2 = feats[fi + 2] * n,
      c3 = feats[fi + 3] * n;
    for (let k = 0; k < m; k++) {
      const r = contiguousAll ? k : rows[start + k];
      const v = P[k];
      hist[b0 + bins[c0 + r]] += v;
      hist[b1 + bins[c1 + r]] += v;
      hist[b2 + bins[c2 + r]] += v;
      hist[b3 + bins[c3 + r]] += v;
    }
  }
  for (; fi < to; fi++) {
    const base = feats[fi] * HIST_FEATURE_STRIDE;
    const col = feats[fi] * n;
    for (let k = 0; k < m; k++) hist[base + bins[col + (contiguousAll ? k : rows[start + k])]] += P[k];
  }
}

/** Sibling histogram by subtraction: into = parent - child (for `feats`), in place on `into`. */
export function subtractHistogram(
  into: Float64Array,
  parent: Float64Array,
  child: Float64Array,
  feats: Int32Array,
  nFeats: number,
  nBins: Uint16Array,
): void {
  for (let fi = 0; fi < nFeats; fi++) {
    const f = feats[fi];
    const base = f * HIST_FEATURE_STRIDE;
    const stop = base + nBins[f] + 1;
    for (let o = base; o < stop; o++) into[o] = parent[o] - child[o];
  }
}
