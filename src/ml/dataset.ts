/** Dense, row-major training matrix shared by every learner. NaN marks a missing value. */
export interface Dataset {
  X: Float32Array; // row-major n*d; NaN = missing (never replaced by 0 here: learners decide)
  n: number;
  d: number;
  y: Uint8Array; // 1 = build failed, 0 = succeeded
  featureNames: string[];
  w?: Float32Array; // optional sample weights
}

/** Rows [from, to) as views (no copy); callers split time-ordered data so the later slice validates. */
export function sliceRows(ds: Dataset, from: number, to: number): Dataset {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > ds.n || from > to) {
    throw new RangeError(`sliceRows: invalid range [${from}, ${to}) for ${ds.n} rows`);
  }
  const out: Dataset = {
    X: ds.X.subarray(from * ds.d, to * ds.d),
    n: to - from,
    d: ds.d,
    y: ds.y.subarray(from, to),
    featureNames: ds.featureNames,
  };
  if (ds.w) out.w = ds.w.subarray(from, to);
  return out;
}

/** Checks shapes and labels once, so learners can index without bounds worries. */
export function validateDataset(ds: Dataset, name = 'dataset'): void {
  if (!Number.isInteger(ds.n) || !Number.isInteger(ds.d) || ds.n < 0 || ds.d < 1) {
    throw new RangeError(`${name}: n and d must be non-negative integers (d >= 1), got n=${ds.n}, d=${ds.d}`);
  }
  if (ds.X.length !== ds.n * ds.d) throw new RangeError(`${name}.X: length ${ds.X.length} != n*d = ${ds.n * ds.d}`);
  if (ds.y.length !== ds.n) throw new RangeError(`${name}.y: length ${ds.y.length} != n = ${ds.n}`);
  if (ds.featureNames.length !== ds.d) {
    throw new RangeError(`${name}.featureNames: length ${ds.featureNames.length} != d = ${ds.d}`);
  }
  if (ds.w && ds.w.length !== ds.n) throw new RangeError(`${name}.w: length ${ds.w.length} != n = ${ds.n}`);
  for (let i = 0; i < ds.n; i++) {
    if (ds.y[i] > 1) throw new RangeError(`${name}.y[${i}]: label must be 0 or 1, got ${ds.y[i]}`);
    if (ds.w && !(ds.w[i] >= 0 && Number.isFinite(ds.w[i]))) {
      throw new RangeError(`${name}.w[${i}]: weight must be finite and >= 0, got ${ds.w[i]}`);
    }
  }
}
