/**
 * Histogram buffers for tree growth and who builds them: this thread, or the histogram threads when the
 * grower has them and the work is large enough. Buffers are reused across nodes and trees so growing many
 * trees does not churn memory.
 */
import { availableParallelism } from 'node:os';
import { buildHistogram, HIST_FEATURE_STRIDE } from './histogram.ts';
import { HistogramThreads, sharedInputs } from './histogram-threads.ts';
import type { Leaf } from './tree-split.ts';

/** Open leaves beyond this count drop their histogram (rebuilt from rows if split later). */
export const MAX_LIVE_HISTOGRAMS = 48;
/** Shared histogram slots when threaded: the live ones plus those a split holds in flight. */
const SHARED_SLOTS = MAX_LIVE_HISTOGRAMS + 8;

/**
 * Threads worth using for a training matrix: one for small data (starting a worker costs ~150 ms),
 * else every core, as XGBoost and LightGBM do by default.
 */
export function autoThreads(n: number, d: number): number {
  return n * d >= 2_000_000 ? Math.min(8, availableParallelism()) : 1;
}

export class HistogramPool {
  private pool: Float64Array[] = [];
  private ordered: Float64Array;
  private threads?: HistogramThreads;
  private readonly slotOf = new Map<Float64Array, number>();
  /** The binned matrix (in shared memory when threaded). */
  readonly bins: Uint8Array;
  /** Quantized gradient/hessian pairs per row, the histograms' input (shared when threaded). */
  readonly gh: Float64Array;
  /** Row order the workers read; a tree's rows are copied here when threaded. */
  readonly sharedRows?: Uint32Array;

  constructor(
    bins: Uint8Array,
    private readonly n: number,
    private readonly d: number,
    threads: number,
    private readonly minParallelWork: number,
  ) {
    this.ordered = new Float64Array(n);
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
      this.gh = inputs.gh;
    } else {
      this.bins = bins;
      this.gh = new Float64Array(n);
    }
  }

  /** Threads actually building histograms (1 when workers could not start). */
  get threadCount(): number {
    return this.threads?.threads ?? 1;
  }

  close(): void {
    this.threads?.close();
    this.threads = undefined;
  }

  take(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.d * HIST_FEATURE_STRIDE);
  }

  give(hist: Float64Array): void {
    this.pool.push(hist);
  }

  /** Returns a leaf's histogram, if it holds one, to the pool. */
  release(l: Leaf): void {
    if (l.hist) this.pool.push(l.hist);
    l.hist = null;
  }

  /** Histogram of features feats[0..nFeats) over rows[start..end) into `hist`. */
  build(
    hist: Float64Array,
    feats: Int32Array,
    nFeats: number,
    rows: Uint32Array,
    start: number,
    end: number,
    contiguous: boolean,
  ): void {
    const slot = this.slotOf.get(hist);
    if (
      this.threads &&
      slot !== undefined &&
      rows === this.sharedRows &&
      (end - start) * nFeats >= this.minParallelWork
    ) {
      this.threads.build(slot, feats, nFeats, start, end, contiguous, this.ordered);
    } else {
      buildHistogram(hist, this.bins, this.n, feats, nFeats, rows, start, end, this.gh, this.ordered, contiguous);
    }
  }
}
