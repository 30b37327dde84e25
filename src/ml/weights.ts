import type { Dataset } from './dataset.ts';

export type ClassWeight = 'balanced' | number | undefined;

/**
 * Per-row training weight = sample weight × class weight. 'balanced' gives each class half the total
 * weight (n / (2·count)); a number multiplies the weight of failed builds (the minority class).
 */
export function rowWeights(ds: Dataset, classWeight: ClassWeight): Float32Array {
  let pos = 0;
  for (let i = 0; i < ds.n; i++) pos += ds.y[i];
  let wPos = 1,
    wNeg = 1;
  if (classWeight === 'balanced') {
    if (pos > 0 && pos < ds.n) {
      wPos = ds.n / (2 * pos);
      wNeg = ds.n / (2 * (ds.n - pos));
    }
  } else if (typeof classWeight === 'number') {
    if (!(classWeight > 0) || !Number.isFinite(classWeight))
      throw new RangeError(`classWeight: must be a positive number or 'balanced', got ${classWeight}`);
    wPos = classWeight;
  }
  const w = new Float32Array(ds.n);
  for (let i = 0; i < ds.n; i++) w[i] = (ds.y[i] === 1 ? wPos : wNeg) * (ds.w ? ds.w[i] : 1);
  return w;
}
