/** Path-dependent TreeSHAP: the recursion (Lundberg et al. 2018) and the per-leaf tables used for serving. */
import type { FlatTree } from './tree.ts';

// TreeSHAP path state, one flat buffer for all recursion levels (as in the reference implementation): the path
// of a child starts right after its parent's. Shared and grown on demand, so explaining a row allocates nothing
// per tree or per node; module-level functions rather than closures keep the hot loops monomorphic.
let PF = new Int32Array(64);
let PZ = new Float64Array(64);
let PO = new Float64Array(64);
let PW = new Float64Array(64);

function ensurePathBuffers(maxLen: number): void {
  const size = (maxLen * (maxLen + 1)) / 2 + maxLen;
  if (PF.length >= size) return;
  PF = new Int32Array(size);
  PZ = new Float64Array(size);
  PO = new Float64Array(size);
  PW = new Float64Array(size);
}

function extendPath(p: number, u: number, z: number, o: number, f: number): void {
  PF[p + u] = f;
  PZ[p + u] = z;
  PO[p + u] = o;
  PW[p + u] = u === 0 ? 1 : 0;
  for (let i = u - 1; i >= 0; i--) {
    PW[p + i + 1] += (o * PW[p + i] * (i + 1)) / (u + 1);
    PW[p + i] = (z * PW[p + i] * (u - i)) / (u + 1);
  }
}

function unwindPath(p: number, u: number, k: number): void {
  const o = PO[p + k],
    z = PZ[p + k];
  let next = PW[p + u];
  for (let i = u - 1; i >= 0; i--) {
    if (o !== 0) {
      const tmp = PW[p + i];
      PW[p + i] = (next * (u + 1)) / ((i + 1) * o);
      next = tmp - (PW[p + i] * z * (u - i)) / (u + 1);
    } else {
      PW[p + i] = (PW[p + i] * (u + 1)) / (z * (u - i));
    }
  }
  for (let i = k; i < u; i++) {
    PF[p + i] = PF[p + i + 1];
    PZ[p + i] = PZ[p + i + 1];
    PO[p + i] = PO[p + i + 1];
  }
}

function unwoundSum(p: number, u: number, k: number): number {
  const o = PO[p + k],
    z = PZ[p + k];
  let next = PW[p + u],
    total = 0;
  for (let i = u - 1; i >= 0; i--) {
    if (o !== 0) {
      const tmp = (next * (u + 1)) / ((i + 1) * o);
      total += tmp;
      next = PW[p + i] - (tmp * z * (u - i)) / (u + 1);
    } else if (z !== 0) {
      total += PW[p + i] / z / ((u - i) / (u + 1));
    }
  }
  return total;
}

function shapRecurse(
  t: FlatTree,
  row: ArrayLike<number>,
  phi: Float64Array,
  node: number,
  parent: number,
  u: number,
  pz: number,
  po: number,
  pf: number,
): void {
  const p = parent + u;
  for (let i = 0; i < u; i++) {
    PF[p + i] = PF[parent + i];
    PZ[p + i] = PZ[parent + i];
    PO[p + i] = PO[parent + i];
    PW[p + i] = PW[parent + i];
  }
  extendPath(p, u, pz, po, pf);
  const f = t.feature[node];
  if (f < 0) {
    const leaf = t.value[node];
    for (let i = 1; i <= u; i++) phi[PF[p + i]] += unwoundSum(p, u, i) * (PO[p + i] - PZ[p + i]) * leaf;
    return;
  }
  const v = row[f];
  const th = t.threshold[node];
  const goLeft = v <= th ? true : v > th ? false : t.defaultLeft[node] === 1;
  const hot = goLeft ? t.left[node] : t.right[node];
  const cold = goLeft ? t.right[node] : t.left[node];
  const cover = t.cover[node];
  const hz = t.cover[hot] / cover,
    cz = t.cover[cold] / cover;
  let iz = 1,
    io = 1;
  let k = 1;
  for (; k <= u; k++) if (PF[p + k] === f) break;
  if (k <= u) {
    iz = PZ[p + k];
    io = PO[p + k];
    unwindPath(p, u, k);
    u -= 1;
  }
  shapRecurse(t, row, phi, hot, p, u + 1, hz * iz, io, f);
  shapRecurse(t, row, phi, cold, p, u + 1, cz * iz, 0, f);
}

/**
 * Path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2): exact Shapley values of the tree's
 * output where absent features are integrated out by training cover. Adds into phi (length d).
 */
export function treeShap(t: FlatTree, row: ArrayLike<number>, phi: Float64Array): void {
  if (t.feature[0] < 0) return;
  ensurePathBuffers(depthOf(t) + 2);
  shapRecurse(t, row, phi, 0, 0, 0, 1, 1, -1);
}

/**
 * TreeSHAP by table, for serving (the idea of Fast TreeSHAP v2, Yang 2021). A leaf's share of every
 * feature's SHAP value depends on the row only through which of its path's features the row agrees with
 * (one bit per distinct feature on the path), so for each leaf and each of those 2^m patterns the shares are
 * computed once, with the same path algebra as `treeShap`. Explaining a row is then one pass over the
 * internal nodes and, per leaf, m bit tests and m additions: about 6x less work than the recursion for the
 * depth-6 trees we grow, for a table of L·2^m·m numbers per tree. Trees with a path of more than
 * MAX_TABLE_PATH distinct features are left to the recursion.
 */
const MAX_TABLE_PATH = 10;

export class ShapTable {
  private constructor(
    private readonly t: FlatTree,
    private readonly internal: Int32Array, // internal node ids
    private readonly leafM: Uint8Array, // distinct features per leaf path
    private readonly leafFeat: Int32Array, // per leaf, m feature ids (MAX_TABLE_PATH slots)
    private readonly stepStart: Int32Array, // per leaf: its path's steps are [stepStart[l], stepStart[l + 1])
    private readonly stepNode: Int32Array,
    private readonly stepLeft: Uint8Array, // 1 = the path goes left at that node
    private readonly stepBit: Uint8Array, // which of the leaf's distinct features the step tests
    private readonly tableOffset: Int32Array,
    private readonly table: Float64Array,
    private readonly goLeft: Uint8Array, // scratch: the row's direction at each node
  ) {}

  static build(t: FlatTree): ShapTable | null {
    if (t.feature[0] < 0) return null;
    const nodes = t.feature.length;
    const internal: number[] = [];
    const leaves: { node: number; path: { node: number; left: boolean }[] }[] = [];
    const walk = (node: number, path: { node: number; left: boolean }[]): void => {
      if (t.feature[node] < 0) return void leaves.push({ node, path });
      internal.push(node);
      walk(t.left[node], [...path, { node, left: true }]);
      walk(t.right[node], [...path, { node, left: false }]);
    };
    walk(0, []);
    const L = leaves.length;
    const leafM = new Uint8Array(L);
    const leafFeat = new Int32Array(L * MAX_TABLE_PATH);
    const stepStart = new Int32Array(L + 1);
    const stepNode: number[] = [];
    const stepLeft: number[] = [];
    const stepBit: number[] = [];
    const tableOffset = new Int32Array(L + 1);
    const tables: Float64Array[] = [];
    let size = 0;
    for (let l = 0; l < L; l++) {
      const { node: leaf, path } = leaves[l];
      const feats: number[] = [];
      const z: number[] = [];
      stepStart[l] = stepNode.length;
      for (const step of path) {
        const f = t.feature[step.node];
        const child = step.left ? t.left[step.node] : t.right[step.node];
        let j = feats.indexOf(f);
        if (j < 0) {
          j = feats.length;
          feats.push(f);
          z.push(1);
        }
        z[j] *= t.cover[child] / t.cover[step.node];
        stepNode.push(step.node);
        stepLeft.push(step.left ? 1 : 0);
        stepBit.push(j);
      }
      const m = feats.length;
      if (m > MAX_TABLE_PATH) return null;
      leafM[l] = m;
      for (let j = 0; j < m; j++) leafFeat[l * MAX_TABLE_PATH + j] = feats[j];
      const tab = new Float64Array((1 << m) * m);
      ensurePathBuffers(m + 2);
      for (let pattern = 0; pattern < 1 << m; pattern++) {
        extendPath(0, 0, 1, 1, -1);
        for (let j = 0; j < m; j++) extendPath(0, j + 1, z[j], (pattern >> j) & 1, feats[j]);
        for (let j = 0; j < m; j++) {
          const o = (pattern >> j) & 1;
          tab[pattern * m + j] = unwoundSum(0, m, j + 1) * (o - z[j]) * t.value[leaf];
        }
      }
      tables.push(tab);
      tableOffset[l] = size;
      size += tab.length;
    }
    tableOffset[L] = size;
    stepStart[L] = stepNode.length;
    const table = new Float64Array(size);
    for (let l = 0; l < L; l++) table.set(tables[l], tableOffset[l]);
    return new ShapTable(
      t,
      Int32Array.from(internal),
      leafM,
      leafFeat,
      stepStart,
      Int32Array.from(stepNode),
      Uint8Array.from(stepLeft),
      Uint8Array.from(stepBit),
      tableOffset,
      table,
      new Uint8Array(nodes),
    );
  }

  /** Adds this tree's SHAP values for `row` into `phi`, equal to `treeShap` up to rounding. */
  addTo(row: ArrayLike<number>, phi: Float64Array): void {
    const { t, goLeft, internal, leafM, leafFeat, stepStart, stepNode, stepLeft, stepBit, tableOffset, table } = this;
    const feature = t.feature,
      threshold = t.threshold,
      defaultLeft = t.defaultLeft;
    for (let i = 0; i < internal.length; i++) {
      const node = internal[i];
      const v = row[feature[node]];
      const th = threshold[node];
      goLeft[node] = v <= th ? 1 : v > th ? 0 : defaultLeft[node];
    }
    for (let l = 0; l < leafM.length; l++) {
      const m = leafM[l];
      // Start from "agrees with every feature" and clear a feature's bit at any step the row leaves the path.
      let pattern = (1 << m) - 1;
      for (let k = stepStart[l], end = stepStart[l + 1]; k < end; k++)
        pattern &= ~((goLeft[stepNode[k]] ^ stepLeft[k]) << stepBit[k]);
      const off = tableOffset[l] + pattern * m;
      const base = l * MAX_TABLE_PATH;
      for (let j = 0; j < m; j++) phi[leafFeat[base + j]] += table[off + j];
    }
  }
}

const depthCache = new WeakMap<FlatTree, number>();
function depthOf(t: FlatTree): number {
  let d = depthCache.get(t);
  if (d === undefined) {
    const rec = (i: number): number => (t.feature[i] < 0 ? 0 : 1 + Math.max(rec(t.left[i]), rec(t.right[i])));
    d = rec(0);
    depthCache.set(t, d);
  }
  return d;
}
