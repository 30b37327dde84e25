/**
 * A grown decision tree in the flat layout shared by growth (tree-grower.ts), serving (tree-ensemble.ts),
 * explanation (tree-shap.ts) and storage (tree-format.ts), and the per-tree predictions training needs.
 */

/** A grown tree in the flat layout. Leaves have feature = -1. Node 0 is the root. */
export interface FlatTree {
  feature: Int32Array;
  threshold: Float64Array; // go left when value <= threshold
  binThreshold: Uint8Array; // same split in bin space (bins <= binThreshold go left)
  defaultLeft: Uint8Array; // where missing (NaN) values go
  left: Int32Array;
  right: Int32Array;
  value: Float64Array; // leaf output (already scaled by the caller's learning rate)
  cover: Float64Array; // training rows reaching the node (TreeSHAP weights)
  gain: Float64Array; // split gain (importance)
}

/** Leaf value for one binned row (column-major bins), used to update predictions of out-of-bag rows. */
export function predictBinned(t: FlatTree, bins: Uint8Array, n: number, r: number): number {
  let node = 0;
  while (t.feature[node] >= 0) {
    const b = bins[t.feature[node] * n + r];
    node = (b === 0 ? t.defaultLeft[node] === 1 : b <= t.binThreshold[node]) ? t.left[node] : t.right[node];
  }
  return t.value[node];
}

/** Leaf value for one raw row. NaN fails both comparisons and takes the learned default branch. */
export function predictTree(t: FlatTree, row: ArrayLike<number>): number {
  let node = 0;
  while (t.feature[node] >= 0) {
    const v = row[t.feature[node]];
    if (v <= t.threshold[node]) node = t.left[node];
    else if (v > t.threshold[node]) node = t.right[node];
    else node = t.defaultLeft[node] === 1 ? t.left[node] : t.right[node];
  }
  return t.value[node];
}

/** Cover-weighted mean output: the tree's expectation over the training distribution. */
export function expectedValue(t: FlatTree): number {
  let s = 0;
  const total = t.cover[0];
  if (!(total > 0)) return t.value[0];
  for (let i = 0; i < t.feature.length; i++) if (t.feature[i] < 0) s += t.value[i] * t.cover[i];
  return s / total;
}
