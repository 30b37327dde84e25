import type { Frame } from '../src/features/frame.ts';
import { FEATURES } from '../src/features/definition.ts';
import type { Dataset } from '../src/ml/dataset.ts';

/** Row indices sorted by creation time (stable, so same-time rows keep their (repo, run) order). */
export function timeOrder(frame: Frame, rows?: ArrayLike<number>): Uint32Array {
  const idx = rows ? Uint32Array.from(rows as ArrayLike<number>) : Uint32Array.from({ length: frame.n }, (_, i) => i);
  const t = frame.createdMs;
  return idx.sort((a, b) => t[a] - t[b] || a - b);
}

/** Copies the chosen rows (in the given order) into a learner's dataset. */
export function takeRows(frame: Frame, rows: ArrayLike<number>): Dataset {
  const d = frame.d;
  const X = new Float32Array(rows.length * d);
  const y = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    X.set(frame.X.subarray(r * d, r * d + d), i * d);
    y[i] = frame.y[r];
  }
  return { X, y, n: rows.length, d, featureNames: [...FEATURES] };
}

/** Splits time-ordered rows into consecutive train / validation / holdout parts by fraction. */
export function splitByTime(
  order: Uint32Array,
  validFraction: number,
  holdoutFraction: number,
): { train: Uint32Array; valid: Uint32Array; holdout: Uint32Array } {
  const n = order.length;
  const h = Math.round(n * holdoutFraction);
  const v = Math.round(n * validFraction);
  return {
    train: order.subarray(0, n - h - v),
    valid: order.subarray(n - h - v, n - h),
    holdout: order.subarray(n - h),
  };
}
