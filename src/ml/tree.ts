/**
 * Histogram tree growth (leaf-wise, bounded by max depth and leaf count), the flat tree layout used
 * for prediction, and path-dependent TreeSHAP. Shared by the GBDT and the random forest.
 */
import { accumulateHistogram, buildHistogram, gradPart, quantizeGradients, subtractHistogram, HIST_FEATURE_STRIDE, type BinMapper, type GradientCode } from './histogram.ts';
import { availableParallelism } from 'node:os';
import { HistogramThreads, sharedInputs } from './histogram-threads.ts';

export interface GrowParams {
  maxDepth: number;
  numLeaves: number;
  minDataInLeaf: number;
  minSumHessian: number;
  lambdaL2: number;
  minGainToSplit: number;
  /** Features tried per node (random subset, forest-style); >= the tree's feature count means all. */
  featuresPerNode: number;
  /**
   * Forest mode: every node draws its features and builds its histograms afresh, with exact row counts;
   * implied when featuresPerNode is below the feature count. Otherwise boosting: all the tree's features,
   * a sibling's histogram by subtraction, row counts estimated from the hessian.
   */
  perNode?: boolean;
}

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

interface Leaf {
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

type Rng = () => number;

/** Open leaves beyond this count drop their histogram (rebuilt from rows if split later). */
const MAX_LIVE_HISTOGRAMS = 48;
/** Shared histogram slots when threaded: the live ones plus those a split holds in flight. */
const SHARED_SLOTS = MAX_LIVE_HISTOGRAMS + 8;

/**
 * Threads worth using for a training matrix: one for small data (starting a worker costs ~150 ms),
 * else every core, as XGBoost and LightGBM do by default.
 */
export function autoThreads(n: number, d: number): number {
  return n * d >= 2_000_000 ? Math.min(8, availableParallelism()) : 1;
}

export interface GrowerOptions {
  /** Threads that build histograms (1 = this one only). */
  threads?: number;
  /** Rows × features below which a histogram is not worth handing out (a hand-off costs ~20 µs). */
  minParallelWork?: number;
}

/** Reusable buffers so growing many trees does not churn memory. */
export class TreeGrower {
  private pool: Float64Array[] = [];
  private scratch: Uint32Array;
  private gh: Float64Array;
  private ordered: Float64Array;
  private featScratch: Int32Array;
  private readonly goesLeft = new Uint8Array(256);
  private ones?: Float64Array;
  private counts?: Float64Array;
  private code: GradientCode = { gScale: 1, hScale: 1, radix: 1 };
  private trees = 0;
  private threads?: HistogramThreads;
  private sharedRows?: Uint32Array;
  private readonly slotOf = new Map<Float64Array, number>();
  private readonly minParallelWork: number;

  constructor(
    private bins: Uint8Array,
    private n: number,
    private d: number,
    private mapper: BinMapper,
    opts: GrowerOptions = {},
  ) {
    this.scratch = new Uint32Array(n);
    this.ordered = new Float64Array(n);
    this.featScratch = new Int32Array(d);
    this.minParallelWork = opts.minParallelWork ?? 100_000;
    const threads = Math.floor(opts.threads ?? 1);
    const inputs = threads > 1 ? sharedInputs(bins, n, d, SHARED_SLOTS) : undefined;
    this.threads = inputs && HistogramThreads.start(inputs, threads - 1);
    if (inputs && this.threads) {
      this.bins = inputs.bins;
      this.sharedRows = inputs.rows;
      const size = d * HIST_FEATURE_STRIDE;
      for (let s = 0; s < SHARED_SLOTS; s++) {
        const h = inputs.arena.subarray(s * size, (s + 1) * size);
        this.slotOf.set(h, s);
        this.pool.push(h);
      }
    }
    this.gh = inputs && this.threads ? inputs.gh : new Float64Array(n);
  }

  /** Threads actually building histograms (1 when workers could not start). */
  get threadCount(): number {
    return this.threads?.threads ?? 1;
  }

  /** Stops the histogram threads; the grower must not be used afterwards. */
  close(): void {
    this.threads?.close();
    this.threads = undefined;
  }

  private takeHist(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.d * HIST_FEATURE_STRIDE);
  }

  private build(hist: Float64Array, feats: Int32Array, nFeats: number, rows: Uint32Array, start: number, end: number, contiguous: boolean): void {
    const slot = this.slotOf.get(hist);
    if (this.threads && slot !== undefined && rows === this.sharedRows && (end - start) * nFeats >= this.minParallelWork) {
      this.threads.build(slot, feats, nFeats, start, end, contiguous, this.ordered);
    } else {
      buildHistogram(hist, this.bins, this.n, feats, nFeats, rows, start, end, this.gh, this.ordered, contiguous);
    }
  }

  /**
   * Grows one tree on rows[0..nRows) (permuted in place into leaf segments) with gradients g and
   * hessians h. Leaf values are -G/(H+lambda) times `scale`. `onLeaf` receives each final leaf's
   * row segment so callers can update training predictions without re-traversing.
   */
  grow(
    g: Float32Array,
    h: Float32Array,
    rows: Uint32Array,
    nRows: number,
    feats: Int32Array,
    nFeats: number,
    p: GrowParams,
    rng: Rng,
    scale: number,
    onLeaf?: (value: number, rows: Uint32Array, start: number, end: number) => void,
  ): FlatTree {
    const { mapper, bins, n } = this;
    const nodes = {
      feature: [] as number[], threshold: [] as number[], binThreshold: [] as number[], defaultLeft: [] as number[],
      left: [] as number[], right: [] as number[], value: [] as number[], cover: [] as number[], gain: [] as number[],
    };
    const newNode = (): number => {
      nodes.feature.push(-1); nodes.threshold.push(0); nodes.binThreshold.push(0); nodes.defaultLeft.push(0);
      nodes.left.push(-1); nodes.right.push(-1); nodes.value.push(0); nodes.cover.push(0); nodes.gain.push(0);
      return nodes.feature.length - 1;
    };
    const callerRows = rows;
    if (this.sharedRows) {
      // the workers read rows from shared memory; the caller's array gets the final order back below
      this.sharedRows.set(rows.subarray(0, nRows));
      rows = this.sharedRows;
    }
    const contiguous = nRows === n && isIdentity(rows, n);
    // A different rounding stream per tree (seeded from the tree count, so training stays reproducible).
    this.code = quantizeGradients(g, h, rows, nRows, this.gh, Math.imul(++this.trees, 0x9e3779b1));
    // Forest mode (see GrowParams.perNode): one shared buffer, rebuilt per node for its own draw.
    const perNode = p.perNode === true || p.featuresPerNode < nFeats;
    const draws = Math.min(p.featuresPerNode, nFeats);
    if (!perNode) {
      // A feature with no value bins is missing on every row: it can never split, so boosting does not
      // build its histograms (often a third of a CI history's columns, e.g. paths a provider never sends).
      const usable = this.featScratch;
      let k = 0;
      for (let i = 0; i < nFeats; i++) if (mapper.nBins[feats[i]] > 0) usable[k++] = feats[i];
      if (k > 0 && k < nFeats) {
        feats = usable.slice(0, k);
        nFeats = k;
      }
    }
    const shared = perNode ? this.takeHist() : null;
    const evaluate = (leaf: Leaf, isRoot: boolean, search: boolean): void => {
      if (!perNode) {
        if (search && !uniformRatio(g, h, rows, leaf.start, leaf.end)) this.findSplit(leaf, feats, nFeats, p);
        return;
      }
      if (!search || !this.splittable(leaf, p)) return;
      const fs = this.featScratch;
      for (let i = 0; i < nFeats; i++) fs[i] = feats[i];
      for (let i = 0; i < draws; i++) {
        const j = i + Math.floor(rng() * (nFeats - i));
        const t = fs[i]; fs[i] = fs[j]; fs[j] = t;
      }
      // after the draw, so a pure node uses up its draw as every other node does and a seed grows the
      // same forest whether or not purity is tested
      if (uniformRatio(g, h, rows, leaf.start, leaf.end)) return;
      this.build(shared!, fs, draws, rows, leaf.start, leaf.end, isRoot && contiguous);
      // Forest leaves are small (a few rows at the bottom of deep trees), where counts estimated from the
      // hessian are too rough for minDataInLeaf: sum a 1 per row for the node's few features as well.
      this.ones ??= new Float64Array(n).fill(1);
      this.counts ??= new Float64Array(this.d * HIST_FEATURE_STRIDE);
      accumulateHistogram(this.counts, bins, n, fs, 0, draws, rows, leaf.start, leaf.end, this.ones, isRoot && contiguous);
      leaf.hist = shared;
      this.findSplit(leaf, fs, draws, p, this.counts);
      leaf.hist = null;
    };
    let rootHist: Float64Array | null = null;
    if (!perNode) {
      rootHist = this.takeHist();
      this.build(rootHist, feats, nFeats, rows, 0, nRows, contiguous);
    }
    const root = leafOf(newNode(), 0, nRows, 0, rootHist);
    evaluate(root, true, p.numLeaves > 1);
    const open: Leaf[] = [];
    const done: Leaf[] = [];
    if (root.gain > p.minGainToSplit) open.push(root);
    else { done.push(root); this.release(root); }
    let nLeaves = 1;
    const bestFirst = p.numLeaves < 2 ** Math.min(p.maxDepth, 30);
    while (nLeaves < p.numLeaves && open.length > 0) {
      // Best-first only matters when the leaf budget binds; otherwise LIFO avoids an O(leaves²) scan
      // on deep forest trees.
      let bi = open.length - 1;
      if (bestFirst) for (let i = 0; i < open.length; i++) if (open[i].gain > open[bi].gain) bi = i;
      const leaf = open[bi];
      open[bi] = open[open.length - 1];
      open.pop();
      const f = leaf.feature, thr = leaf.bin, dl = leaf.defaultLeft;
      // Stable partition of the segment: left rows stay in front, right rows go via scratch. Branch-free
      // (each row is written to both sides, a bin table says which one counts): the direction is a coin
      // toss to the branch predictor.
      const col = f * n;
      const goesLeft = this.goesLeft;
      for (let b = 1; b < 256; b++) goesLeft[b] = b <= thr ? 1 : 0;
      goesLeft[0] = dl ? 1 : 0;
      const scratch = this.scratch;
      let wl = leaf.start, wr = 0;
      for (let k = leaf.start; k < leaf.end; k++) {
        const r = rows[k];
        const left = goesLeft[bins[col + r]];
        rows[wl] = r;
        scratch[wr] = r;
        wl += left;
        wr += 1 - left;
      }
      rows.set(scratch.subarray(0, wr), wl);
      const mid = wl;
      const node = leaf.node;
      nodes.feature[node] = f;
      nodes.binThreshold[node] = thr;
      nodes.threshold[node] = mapper.upper[f][thr - 1];
      nodes.defaultLeft[node] = dl ? 1 : 0;
      nodes.gain[node] = leaf.gain;
      nodes.cover[node] = leaf.C;
      const ln = newNode(), rn = newNode();
      nodes.left[node] = ln;
      nodes.right[node] = rn;
      let lh: Float64Array | null = null, rh: Float64Array | null = null;
      if (!perNode) {
        const leftSmaller = mid - leaf.start <= leaf.end - mid;
        const small = this.takeHist();
        if (leftSmaller) this.build(small, feats, nFeats, rows, leaf.start, mid, false);
        else this.build(small, feats, nFeats, rows, mid, leaf.end, false);
        let large = leaf.hist;
        if (large) {
          // The parent's buffer becomes the larger sibling's histogram.
          subtractHistogram(large, large, small, feats, nFeats, mapper.nBins);
        } else {
          large = this.takeHist();
          if (leftSmaller) this.build(large, feats, nFeats, rows, mid, leaf.end, false);
          else this.build(large, feats, nFeats, rows, leaf.start, mid, false);
        }
        lh = leftSmaller ? small : large;
        rh = leftSmaller ? large : small;
      }
      const L = leafOf(ln, leaf.start, mid, leaf.depth + 1, lh);
      const R = leafOf(rn, mid, leaf.end, leaf.depth + 1, rh);
      leaf.hist = null;
      nLeaves++;
      for (const c of [L, R]) {
        evaluate(c, false, nLeaves < p.numLeaves);
        if (c.gain > p.minGainToSplit) {
          open.push(c);
          if (open.length > MAX_LIVE_HISTOGRAMS) this.release(c);
        } else {
          done.push(c);
          this.release(c);
        }
      }
    }
    for (const l of open) { done.push(l); this.release(l); }
    if (shared) this.pool.push(shared);
    for (const l of done) {
      // Leaf outputs from the exact gradients, not the quantized ones the splits were chosen on.
      let G = 0, H = 0;
      for (let k = l.start; k < l.end; k++) { const r = rows[k]; G += g[r]; H += h[r]; }
      const v = (-G / (H + p.lambdaL2)) * scale;
      nodes.value[l.node] = v;
      nodes.cover[l.node] = l.C;
      if (onLeaf) onLeaf(v, rows, l.start, l.end);
    }
    if (rows !== callerRows) callerRows.set(rows.subarray(0, nRows));
    return {
      feature: Int32Array.from(nodes.feature), threshold: Float64Array.from(nodes.threshold),
      binThreshold: Uint8Array.from(nodes.binThreshold), defaultLeft: Uint8Array.from(nodes.defaultLeft),
      left: Int32Array.from(nodes.left), right: Int32Array.from(nodes.right), value: Float64Array.from(nodes.value),
      cover: Float64Array.from(nodes.cover), gain: Float64Array.from(nodes.gain),
    };
  }

  private release(l: Leaf): void {
    if (l.hist) this.pool.push(l.hist);
    l.hist = null;
  }

  private splittable(leaf: Leaf, p: GrowParams): boolean {
    return leaf.depth < p.maxDepth && leaf.C >= 2 * p.minDataInLeaf;
  }

  /**
   * Best split of a leaf over its histogram, in quantized units: totals come from one feature's bins
   * (every row lands in exactly one bin of each). A side's row count comes from `counts` when given, else
   * it is estimated from its hessian share, as LightGBM does once histograms carry no counts.
   */
  private findSplit(leaf: Leaf, cand: Int32Array, nCand: number, p: GrowParams, counts?: Float64Array): void {
    leaf.gain = 0;
    leaf.feature = -1;
    if (!this.splittable(leaf, p)) return;
    const hist = leaf.hist!;
    const { gScale, hScale, radix } = this.code;
    const nBins = this.mapper.nBins;
    let total = 0;
    for (let b = 0, base = cand[0] * HIST_FEATURE_STRIDE; b <= nBins[cand[0]]; b++) total += hist[base + b];
    const G = gradPart(total, radix), H = total - G * radix;
    const minC = p.minDataInLeaf, minH = p.minSumHessian / hScale;
    if (!(H > 0) || H < 2 * minH) return;
    const C = leaf.C;
    const perH = C / H;
    const lam = p.lambdaL2 / hScale;
    const parentScore = (G * G) / (H + lam);
    let bestGain = 0, bestF = -1, bestBin = 0, bestDL = false;
    for (let fi = 0; fi < nCand; fi++) {
      const f = cand[fi];
      const base = f * HIST_FEATURE_STRIDE;
      const nb = nBins[f];
      const mv = hist[base];
      const mG = gradPart(mv, radix), mH = mv - mG * radix;
      const mC = counts ? counts[base] : mH * perH;
      const hasMissing = counts ? mC > 0 : mv !== 0;
      let gl = 0, hl = 0, rowsLeft = 0;
      for (let b = 1; b <= nb; b++) {
        const v = hist[base + b];
        const bg = gradPart(v, radix);
        gl += bg; hl += v - bg * radix;
        // missing goes right
        let hr = H - hl;
        let cl = counts ? (rowsLeft += counts[base + b]) : hl * perH;
        let cr = C - cl;
        if (cl >= minC && cr >= minC && hl >= minH && hr >= minH) {
          const gr = G - gl;
          const gain = (gl * gl) / (hl + lam) + (gr * gr) / (hr + lam) - parentScore;
          if (gain > bestGain) { bestGain = gain; bestF = f; bestBin = b; bestDL = !hasMissing && cl >= cr; }
        }
        if (hasMissing) {
          // missing goes left
          const hl2 = hl + mH;
          hr = H - hl2;
          cl += mC; cr = C - cl;
          if (cl >= minC && cr >= minC && hl2 >= minH && hr >= minH) {
            const gl2 = gl + mG, gr = G - gl2;
            const gain = (gl2 * gl2) / (hl2 + lam) + (gr * gr) / (hr + lam) - parentScore;
            if (gain > bestGain) { bestGain = gain; bestF = f; bestBin = b; bestDL = true; }
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
}

const leafOf = (node: number, start: number, end: number, depth: number, hist: Float64Array | null): Leaf =>
  ({ node, start, end, depth, hist, C: end - start, gain: 0, feature: -1, bin: 0, defaultLeft: false });

/**
 * Whether every row of the segment has the same g/h (a forest node whose rows all share a label): no
 * split can gain anything, but the rounding of quantized gradients would show tiny gains, and the
 * forest would split pure nodes on noise. Boosting's rows differ at once, so this costs it nothing.
 */
function uniformRatio(g: Float32Array, h: Float32Array, rows: Uint32Array, start: number, end: number): boolean {
  const r0 = rows[start];
  const g0 = g[r0], h0 = h[r0];
  for (let k = start + 1; k < end; k++) {
    const r = rows[k];
    if (g[r] * h0 !== g0 * h[r]) return false;
  }
  return true;
}

function isIdentity(rows: Uint32Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (rows[i] !== i) return false;
  return true;
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
    const l = t.left[i], r = t.right[i];
    if (!seen[i]) {
      seen[i] = 1;
      stack.push(l, r);
      continue;
    }
    stack.pop();
    const cl = t.cover[l], cr = t.cover[r];
    m[i] = cl + cr > 0 ? (cl * m[l] + cr * m[r]) / (cl + cr) : (m[l] + m[r]) / 2;
  }
  return m;
}

export function expectedValue(t: FlatTree): number {
  let s = 0;
  const total = t.cover[0];
  if (!(total > 0)) return t.value[0];
  for (let i = 0; i < t.feature.length; i++) if (t.feature[i] < 0) s += t.value[i] * t.cover[i];
  return s / total;
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
  PF[p + u] = f; PZ[p + u] = z; PO[p + u] = o; PW[p + u] = u === 0 ? 1 : 0;
  for (let i = u - 1; i >= 0; i--) {
    PW[p + i + 1] += (o * PW[p + i] * (i + 1)) / (u + 1);
    PW[p + i] = (z * PW[p + i] * (u - i)) / (u + 1);
  }
}

function unwindPath(p: number, u: number, k: number): void {
  const o = PO[p + k], z = PZ[p + k];
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
  for (let i = k; i < u; i++) { PF[p + i] = PF[p + i + 1]; PZ[p + i] = PZ[p + i + 1]; PO[p + i] = PO[p + i + 1]; }
}

function unwoundSum(p: number, u: number, k: number): number {
  const o = PO[p + k], z = PZ[p + k];
  let next = PW[p + u], total = 0;
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

function shapRecurse(t: FlatTree, row: ArrayLike<number>, phi: Float64Array, node: number, parent: number, u: number, pz: number, po: number, pf: number): void {
  const p = parent + u;
  for (let i = 0; i < u; i++) { PF[p + i] = PF[parent + i]; PZ[p + i] = PZ[parent + i]; PO[p + i] = PO[parent + i]; PW[p + i] = PW[parent + i]; }
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
  const hz = t.cover[hot] / cover, cz = t.cover[cold] / cover;
  let iz = 1, io = 1;
  let k = 1;
  for (; k <= u; k++) if (PF[p + k] === f) break;
  if (k <= u) {
    iz = PZ[p + k]; io = PO[p + k];
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
    return new ShapTable(t, Int32Array.from(internal), leafM, leafFeat, stepStart, Int32Array.from(stepNode), Uint8Array.from(stepLeft), Uint8Array.from(stepBit), tableOffset, table, new Uint8Array(nodes));
  }

  /** Adds this tree's SHAP values for `row` into `phi`, equal to `treeShap` up to rounding. */
  addTo(row: ArrayLike<number>, phi: Float64Array): void {
    const { t, goLeft, internal, leafM, leafFeat, stepStart, stepNode, stepLeft, stepBit, tableOffset, table } = this;
    const feature = t.feature, threshold = t.threshold, defaultLeft = t.defaultLeft;
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
      for (let k = stepStart[l], end = stepStart[l + 1]; k < end; k++) pattern &= ~((goLeft[stepNode[k]] ^ stepLeft[k]) << stepBit[k]);
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

/** Plain-JSON form of a tree; +Infinity thresholds (split "any value vs missing") become null. */
export function treeToJSON(t: FlatTree): Record<string, number[]> {
  return {
    feature: Array.from(t.feature), threshold: Array.from(t.threshold, (v) => (Number.isFinite(v) ? v : (null as unknown as number))),
    bin_threshold: Array.from(t.binThreshold), default_left: Array.from(t.defaultLeft), left: Array.from(t.left),
    right: Array.from(t.right), value: Array.from(t.value), cover: Array.from(t.cover), gain: Array.from(t.gain),
  };
}

/** Parses and structurally validates a tree; `where` prefixes error messages with the JSON path. */
export function treeFromJSON(j: unknown, d: number, where: string): FlatTree {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new TypeError(`${where}: expected an object`);
  const keys = ['feature', 'threshold', 'bin_threshold', 'default_left', 'left', 'right', 'value', 'cover', 'gain'];
  let len = -1;
  for (const k of keys) {
    if (!Array.isArray(o[k])) throw new TypeError(`${where}.${k}: expected an array`);
    const a = o[k] as unknown[];
    if (len < 0) len = a.length;
    if (a.length !== len) throw new TypeError(`${where}.${k}: length ${a.length} differs from feature length ${len}`);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (k === 'threshold' && v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where}.${k}[${i}]: expected a finite number`);
    }
  }
  if (len < 1) throw new TypeError(`${where}.feature: a tree needs at least one node`);
  const t: FlatTree = {
    feature: Int32Array.from(o.feature as number[]),
    threshold: Float64Array.from(o.threshold as (number | null)[], (v) => (v === null ? Infinity : v)),
    binThreshold: Uint8Array.from(o.bin_threshold as number[]),
    defaultLeft: Uint8Array.from(o.default_left as number[]),
    left: Int32Array.from(o.left as number[]),
    right: Int32Array.from(o.right as number[]),
    value: Float64Array.from(o.value as number[]),
    cover: Float64Array.from(o.cover as number[]),
    gain: Float64Array.from(o.gain as number[]),
  };
  // Children must point forward so traversal always terminates.
  for (let i = 0; i < len; i++) {
    const f = t.feature[i];
    if (f >= d) throw new TypeError(`${where}.feature[${i}]: index ${f} out of range (d=${d})`);
    if (f >= 0) {
      for (const [k, c] of [['left', t.left[i]], ['right', t.right[i]]] as const) {
        if (!(c > i && c < len)) throw new TypeError(`${where}.${k}[${i}]: child ${c} must be in (${i}, ${len})`);
      }
    }
  }
  return t;
}
