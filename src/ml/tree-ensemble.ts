/**
 * The packed ensemble that serves predictions: every tree of a model in one set of typed arrays, for
 * single-row and batch scoring and for path attribution.
 */
import type { FlatTree } from './tree.ts';

/** Cover-weighted mean leaf value under every node, children before parents (explicit post-order). */
function subtreeMeans(t: FlatTree): Float64Array {
  const m = new Float64Array(t.feature.length);
  const stack: number[] = [0];
  const seen = new Uint8Array(t.feature.length);
  while (stack.length) {
    const i = stack[stack.length - 1];
    if (t.feature[i] < 0) {
      m[i] = t.value[i];
      stack.pop();
      continue;
    }
    const l = t.left[i],
      r = t.right[i];
    if (!seen[i]) {
      seen[i] = 1;
      stack.push(l, r);
      continue;
    }
    stack.pop();
    const cl = t.cover[l],
      cr = t.cover[r];
    m[i] = cl + cr > 0 ? (cl * m[l] + cr * m[r]) / (cl + cr) : (m[l] + m[r]) / 2;
  }
  return m;
}

/** The child a value takes at packed node j: left if ≤ threshold, right if >, the missing branch for NaN. */
function childFor(node4: Int32Array, threshold: Float64Array, j: number, v: number): number {
  const thr = threshold[j];
  const o = j << 2;
  return v <= thr ? node4[o + 1] : v > thr ? node4[o + 2] : node4[o + 3];
}

/**
 * All trees concatenated into one set of typed arrays with absolute child indices, so single-row
 * prediction is a tight loop with no per-tree object access. Missing values follow `miss[node]`.
 */
export class PackedEnsemble {
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly miss: Int32Array;
  readonly value: Float64Array;
  /** [feature, left, right, missing-child] per node, interleaved so one cache line serves a visit. */
  readonly node4: Int32Array;
  /** Cover-weighted mean leaf value of each node's subtree (the root's is the tree's expected value). */
  readonly mean: Float64Array;

  constructor(trees: FlatTree[]) {
    let total = 0;
    for (const t of trees) total += t.feature.length;
    this.roots = new Int32Array(trees.length);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.miss = new Int32Array(total);
    this.value = new Float64Array(total);
    let off = 0;
    trees.forEach((t, ti) => {
      this.roots[ti] = off;
      for (let i = 0; i < t.feature.length; i++) {
        const j = off + i;
        this.feature[j] = t.feature[i];
        this.threshold[j] = t.threshold[i];
        this.left[j] = t.left[i] + off;
        this.right[j] = t.right[i] + off;
        this.miss[j] = (t.defaultLeft[i] === 1 ? t.left[i] : t.right[i]) + off;
        this.value[j] = t.value[i];
      }
      off += t.feature.length;
    });
    this.node4 = new Int32Array(total * 4);
    for (let j = 0; j < total; j++) {
      this.node4[4 * j] = this.feature[j];
      this.node4[4 * j + 1] = this.left[j];
      this.node4[4 * j + 2] = this.right[j];
      this.node4[4 * j + 3] = this.miss[j];
    }
    this.mean = new Float64Array(total);
    trees.forEach((t, ti) => {
      const off = this.roots[ti];
      const sub = subtreeMeans(t);
      for (let i = 0; i < sub.length; i++) this.mean[off + i] = sub[i];
    });
  }

  /**
   * Path attribution (Saabas; XGBoost's `approx_contribs`): along each tree's decision path, the split
   * feature is credited with the change in the subtree's expected value. base + Σ phi is the summed
   * margin exactly, and the cost is one decision path per tree — what scoring already pays — where
   * TreeSHAP visits every leaf. Adds into phi.
   */
  pathContributions(row: ArrayLike<number>, phi: Float64Array): void {
    const { roots, node4, threshold, mean } = this;
    for (let t = 0; t < roots.length; t++) {
      let j = roots[t];
      let f = node4[j << 2];
      while (f >= 0) {
        const next = childFor(node4, threshold, j, row[f]);
        phi[f] += mean[next] - mean[j];
        j = next;
        f = node4[j << 2];
      }
    }
  }

  /** Σ over trees of each tree's expected value (the base of path attribution). */
  expectedSum(): number {
    let s = 0;
    for (let t = 0; t < this.roots.length; t++) s += this.mean[this.roots[t]];
    return s;
  }

  /** Sum of leaf values over all trees. */
  sum(row: ArrayLike<number>): number {
    const { roots, node4, threshold, value } = this;
    let s = 0;
    for (let t = 0; t < roots.length; t++) {
      let j = roots[t];
      let f = node4[j << 2];
      while (f >= 0) {
        j = childFor(node4, threshold, j, row[f]);
        f = node4[j << 2];
      }
      s += value[j];
    }
    return s;
  }

  /** Same as sum() for a row-major matrix row, avoiding a subarray allocation per row. */
  sumAt(X: Float32Array, off: number): number {
    const { roots, node4, threshold, value } = this;
    let s = 0;
    for (let t = 0; t < roots.length; t++) {
      let j = roots[t];
      let f = node4[j << 2];
      while (f >= 0) {
        j = childFor(node4, threshold, j, X[off + f]);
        f = node4[j << 2];
      }
      s += value[j];
    }
    return s;
  }
}
