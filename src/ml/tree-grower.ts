/**
 * Histogram tree growth, leaf-wise (best-first when the leaf budget binds) and bounded by max depth and
 * leaf count; shared by the GBDT and the random forest. Laid out like LightGBM's serial_tree_learner: `grow`
 * is a sequence of named steps, split finding is in tree-split.ts, the row partition in tree-partition.ts,
 * histogram buffers and threads in tree-histogram-pool.ts. Boosting and the forest differ only in how a
 * node gets its histogram and candidate features, which is the `NodeSplitter` each of them implements below.
 */
import {
  accumulateHistogram,
  quantizeGradients,
  subtractHistogram,
  HIST_FEATURE_STRIDE,
  type BinMapper,
  type GradientCode,
} from './histogram.ts';
import type { FlatTree } from './tree.ts';
import { HistogramPool, MAX_LIVE_HISTOGRAMS } from './tree-histogram-pool.ts';
import { isIdentity, partitionRows } from './tree-partition.ts';
import { findSplit, leafOf, splittable, uniformRatio, type Leaf, type SplitParams } from './tree-split.ts';

export { autoThreads } from './tree-histogram-pool.ts';

export interface GrowParams extends SplitParams {
  numLeaves: number;
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

type Rng = () => number;

/** One tree to grow. */
export interface GrowInput {
  /** Gradient and hessian per row. */
  g: Float32Array;
  h: Float32Array;
  /** The tree grows on rows[0..nRows), which are permuted in place into leaf segments. */
  rows: Uint32Array;
  nRows: number;
  /** Features the tree may split on: feats[0..nFeats). */
  feats: Int32Array;
  nFeats: number;
  params: GrowParams;
  /** Draws the forest's per-node features. */
  rng: Rng;
  /** Leaf values are -G/(H+lambda) times this (the learning rate). */
  scale: number;
  /** Receives each final leaf's row segment, so callers update training predictions without re-traversing. */
  onLeaf?: (value: number, rows: Uint32Array, start: number, end: number) => void;
}

export interface GrowerOptions {
  /** Threads that build histograms (1 = this one only). */
  threads?: number;
  /** Rows × features below which a histogram is not worth handing out (a hand-off costs ~20 µs). */
  minParallelWork?: number;
}

/** The tree being grown: its rows (in shared memory when threaded) and whether they are 0..n-1 in order. */
interface TreeJob {
  g: Float32Array;
  h: Float32Array;
  rows: Uint32Array;
  nRows: number;
  contiguous: boolean;
  p: GrowParams;
}

/** Reusable buffers so growing many trees does not churn memory. */
export class TreeGrower {
  private readonly hist: HistogramPool;
  private readonly scratch: Uint32Array;
  private readonly featScratch: Int32Array;
  private readonly goesLeft = new Uint8Array(256);
  private forestCounts?: { ones: Float64Array; counts: Float64Array };
  private code: GradientCode = { gScale: 1, hScale: 1, radix: 1 };
  private trees = 0;

  constructor(
    bins: Uint8Array,
    private readonly n: number,
    private readonly d: number,
    private readonly mapper: BinMapper,
    opts: GrowerOptions = {},
  ) {
    this.scratch = new Uint32Array(n);
    this.featScratch = new Int32Array(d);
    this.hist = new HistogramPool(bins, n, d, Math.floor(opts.threads ?? 1), opts.minParallelWork ?? 100_000);
  }

  /** Threads actually building histograms (1 when workers could not start). */
  get threadCount(): number {
    return this.hist.threadCount;
  }

  /** Stops the histogram threads; the grower must not be used afterwards. */
  close(): void {
    this.hist.close();
  }

  /** Grows one tree (see GrowInput). */
  grow(input: GrowInput): FlatTree {
    const job = this.begin(input);
    const p = input.params;
    const splitter = this.splitterFor(job, input);
    const nodes = new NodeList();
    const root = leafOf(nodes.add(), 0, job.nRows, 0, splitter.rootHistogram());
    splitter.evaluate(root, true, p.numLeaves > 1);
    const open: Leaf[] = [];
    const done: Leaf[] = [];
    this.park(root, open, done, p);
    let nLeaves = 1;
    const bestFirst = p.numLeaves < 2 ** Math.min(p.maxDepth, 30);
    while (nLeaves < p.numLeaves && open.length > 0) {
      const leaf = takeNext(open, bestFirst);
      const mid = partitionRows(
        job.rows,
        this.scratch,
        this.goesLeft,
        this.hist.bins,
        this.n,
        leaf.feature,
        leaf.bin,
        leaf.defaultLeft,
        leaf.start,
        leaf.end,
      );
      const [ln, rn] = nodes.split(leaf, this.mapper.upper[leaf.feature][leaf.bin - 1]);
      const [lh, rh] = splitter.childHistograms(leaf, mid);
      const children = [leafOf(ln, leaf.start, mid, leaf.depth + 1, lh), leafOf(rn, mid, leaf.end, leaf.depth + 1, rh)];
      leaf.hist = null;
      nLeaves++;
      for (const c of children) {
        splitter.evaluate(c, false, nLeaves < p.numLeaves);
        this.park(c, open, done, p);
      }
    }
    for (const l of open) {
      done.push(l);
      this.hist.release(l);
    }
    splitter.finish();
    this.setLeafValues(done, nodes, job, input);
    if (job.rows !== input.rows) input.rows.set(job.rows.subarray(0, job.nRows));
    return nodes.toFlatTree();
  }

  /** Rows into shared memory when threaded (the caller's array gets the final order back), gradients quantized. */
  private begin(input: GrowInput): TreeJob {
    const { g, h, nRows } = input;
    let rows = input.rows;
    const shared = this.hist.sharedRows;
    if (shared) {
      shared.set(rows.subarray(0, nRows));
      rows = shared;
    }
    const contiguous = nRows === this.n && isIdentity(rows, this.n);
    // A different rounding stream per tree (seeded from the tree count, so training stays reproducible).
    this.code = quantizeGradients(g, h, rows, nRows, this.hist.gh, Math.imul(++this.trees, 0x9e3779b1));
    return { g, h, rows, nRows, contiguous, p: input.params };
  }

  /** Forest mode (see GrowParams.perNode) or boosting over the tree's usable features. */
  private splitterFor(job: TreeJob, input: GrowInput): NodeSplitter {
    let { feats, nFeats } = input;
    const p = input.params;
    if (p.perNode === true || p.featuresPerNode < nFeats) {
      this.forestCounts ??= {
        ones: new Float64Array(this.n).fill(1),
        counts: new Float64Array(this.d * HIST_FEATURE_STRIDE),
      };
      return new ForestSplitter(
        this.hist,
        job,
        this.code,
        this.mapper.nBins,
        feats,
        nFeats,
        Math.min(p.featuresPerNode, nFeats),
        input.rng,
        this.featScratch,
        this.forestCounts,
      );
    }
    // A feature with no value bins is missing on every row: it can never split, so boosting does not
    // build its histograms (often a third of a CI history's columns, e.g. paths a provider never sends).
    const usable = this.featScratch;
    let k = 0;
    for (let i = 0; i < nFeats; i++) if (this.mapper.nBins[feats[i]] > 0) usable[k++] = feats[i];
    if (k > 0 && k < nFeats) {
      feats = usable.slice(0, k);
      nFeats = k;
    }
    return new BoostingSplitter(this.hist, job, this.code, this.mapper.nBins, feats, nFeats);
  }

  /** An evaluated leaf joins the open ones if its split gains enough, else it is final. */
  private park(leaf: Leaf, open: Leaf[], done: Leaf[], p: GrowParams): void {
    if (leaf.gain > p.minGainToSplit) {
      open.push(leaf);
      if (open.length > MAX_LIVE_HISTOGRAMS) this.hist.release(leaf);
    } else {
      done.push(leaf);
      this.hist.release(leaf);
    }
  }

  /** Leaf outputs from the exact gradients, not the quantized ones the splits were chosen on. */
  private setLeafValues(done: Leaf[], nodes: NodeList, job: TreeJob, input: GrowInput): void {
    const { g, h, rows } = job;
    for (const l of done) {
      let G = 0,
        H = 0;
      for (let k = l.start; k < l.end; k++) {
        const r = rows[k];
        G += g[r];
        H += h[r];
      }
      const v = (-G / (H + job.p.lambdaL2)) * input.scale;
      nodes.value[l.node] = v;
      nodes.cover[l.node] = l.C;
      if (input.onLeaf) input.onLeaf(v, rows, l.start, l.end);
    }
  }
}

/** Best-first only matters when the leaf budget binds; otherwise LIFO avoids an O(leaves²) scan on deep forest trees. */
function takeNext(open: Leaf[], bestFirst: boolean): Leaf {
  let bi = open.length - 1;
  if (bestFirst) for (let i = 0; i < open.length; i++) if (open[i].gain > open[bi].gain) bi = i;
  const leaf = open[bi];
  open[bi] = open[open.length - 1];
  open.pop();
  return leaf;
}

/** How a node gets its histogram and candidate features: the one place boosting and the forest differ. */
interface NodeSplitter {
  /** The root's histogram, or null when every node builds its own. */
  rootHistogram(): Float64Array | null;
  /** Sets the leaf's best split (gain 0 = none); `search` false when the leaf budget is spent. */
  evaluate(leaf: Leaf, isRoot: boolean, search: boolean): void;
  /** [left, right] histograms of a leaf split at rows[mid]. */
  childHistograms(leaf: Leaf, mid: number): [Float64Array | null, Float64Array | null];
  /** Returns what the splitter borrowed from the pool. */
  finish(): void;
}

/** Boosting: the tree's features at every node; the larger child's histogram is the parent's minus the smaller's. */
class BoostingSplitter implements NodeSplitter {
  constructor(
    private readonly hist: HistogramPool,
    private readonly job: TreeJob,
    private readonly code: GradientCode,
    private readonly nBins: Uint16Array,
    private readonly feats: Int32Array,
    private readonly nFeats: number,
  ) {}

  rootHistogram(): Float64Array {
    const h = this.hist.take();
    this.hist.build(h, this.feats, this.nFeats, this.job.rows, 0, this.job.nRows, this.job.contiguous);
    return h;
  }

  evaluate(leaf: Leaf, _isRoot: boolean, search: boolean): void {
    const { g, h, rows, p } = this.job;
    if (search && !uniformRatio(g, h, rows, leaf.start, leaf.end))
      findSplit(leaf, leaf.hist!, this.feats, this.nFeats, p, this.code, this.nBins);
  }

  childHistograms(leaf: Leaf, mid: number): [Float64Array, Float64Array] {
    const { hist, feats, nFeats } = this;
    const rows = this.job.rows;
    const leftSmaller = mid - leaf.start <= leaf.end - mid;
    const small = hist.take();
    if (leftSmaller) hist.build(small, feats, nFeats, rows, leaf.start, mid, false);
    else hist.build(small, feats, nFeats, rows, mid, leaf.end, false);
    let large = leaf.hist;
    if (large) {
      // The parent's buffer becomes the larger sibling's histogram.
      subtractHistogram(large, large, small, feats, nFeats, this.nBins);
    } else {
      large = hist.take();
      if (leftSmaller) hist.build(large, feats, nFeats, rows, mid, leaf.end, false);
      else hist.build(large, feats, nFeats, rows, leaf.start, mid, false);
    }
    return leftSmaller ? [small, large] : [large, small];
  }

  finish(): void {}
}

/** Forest: every node draws its features and builds its histogram in one shared buffer, with exact row counts. */
class ForestSplitter implements NodeSplitter {
  private readonly shared: Float64Array;

  constructor(
    private readonly hist: HistogramPool,
    private readonly job: TreeJob,
    private readonly code: GradientCode,
    private readonly nBins: Uint16Array,
    private readonly feats: Int32Array,
    private readonly nFeats: number,
    private readonly draws: number,
    private readonly rng: Rng,
    private readonly fs: Int32Array,
    private readonly forest: { ones: Float64Array; counts: Float64Array },
  ) {
    this.shared = hist.take();
  }

  rootHistogram(): null {
    return null;
  }

  evaluate(leaf: Leaf, isRoot: boolean, search: boolean): void {
    const { g, h, rows, p, contiguous } = this.job;
    const { fs, draws, nFeats } = this;
    if (!search || !splittable(leaf, p)) return;
    for (let i = 0; i < nFeats; i++) fs[i] = this.feats[i];
    for (let i = 0; i < draws; i++) {
      const j = i + Math.floor(this.rng() * (nFeats - i));
      const t = fs[i];
      fs[i] = fs[j];
      fs[j] = t;
    }
    // after the draw, so a pure node uses up its draw as every other node does and a seed grows the
    // same forest whether or not purity is tested
    if (uniformRatio(g, h, rows, leaf.start, leaf.end)) return;
    this.hist.build(this.shared, fs, draws, rows, leaf.start, leaf.end, isRoot && contiguous);
    // Forest leaves are small (a few rows at the bottom of deep trees), where counts estimated from the
    // hessian are too rough for minDataInLeaf: sum a 1 per row for the node's few features as well.
    const { ones, counts } = this.forest;
    accumulateHistogram(
      counts,
      this.hist.bins,
      ones.length,
      fs,
      0,
      draws,
      rows,
      leaf.start,
      leaf.end,
      ones,
      isRoot && contiguous,
    );
    findSplit(leaf, this.shared, fs, draws, p, this.code, this.nBins, counts);
  }

  childHistograms(): [null, null] {
    return [null, null];
  }

  finish(): void {
    this.hist.give(this.shared);
  }
}

/** The tree's nodes as growable columns; node 0 is the root, leaves keep feature -1. */
class NodeList {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly binThreshold: number[] = [];
  readonly defaultLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly value: number[] = [];
  readonly cover: number[] = [];
  readonly gain: number[] = [];

  add(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.binThreshold.push(0);
    this.defaultLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.cover.push(0);
    this.gain.push(0);
    return this.feature.length - 1;
  }

  /** Turns the leaf's node into its split (at raw `threshold`) and returns the two new child nodes. */
  split(leaf: Leaf, threshold: number): [number, number] {
    const node = leaf.node;
    this.feature[node] = leaf.feature;
    this.binThreshold[node] = leaf.bin;
    this.threshold[node] = threshold;
    this.defaultLeft[node] = leaf.defaultLeft ? 1 : 0;
    this.gain[node] = leaf.gain;
    this.cover[node] = leaf.C;
    const ln = this.add(),
      rn = this.add();
    this.left[node] = ln;
    this.right[node] = rn;
    return [ln, rn];
  }

  toFlatTree(): FlatTree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      binThreshold: Uint8Array.from(this.binThreshold),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
      gain: Float64Array.from(this.gain),
    };
  }
}
