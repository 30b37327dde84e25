/**
 * Histograms built on several cores: worker threads read the same bins, gradients and rows through
 * shared memory and take the features of one histogram a few at a time from a shared counter, each
 * filling its features of the same buffer (so a thread the machine slows down takes fewer). Every
 * feature is summed by one thread in row order, so the result is identical to the single-threaded
 * build (and so are the trees).
 *
 * The tree learner is synchronous, so the main thread hands out a job, builds its own share and then
 * blocks (Atomics.wait) until the workers are done; a job takes milliseconds, the hand-off microseconds.
 */
import { Worker } from 'node:worker_threads';
import { accumulateHistogram, HIST_FEATURE_STRIDE, orderGradients } from './histogram.ts';

/** Control block of one worker (Int32 slots); the features of its share follow at FEATS. */
export const CTRL = { SEQ: 0, DONE: 1, READY: 2, START: 3, END: 4, CONTIGUOUS: 5, SLOT: 6, NFEATS: 7, FAILED: 8, FEATS: 9 } as const;
export const STOP = -1;
/** Features per chunk: the accumulation loop's width. */
const CHUNK = 4;

/** Takes chunks of `feats` from the shared counter until none are left, summing each into hist. */
export function takeChunks(
  next: Int32Array, hist: Float64Array, bins: Uint8Array, n: number, feats: Int32Array,
  rows: Uint32Array, start: number, end: number, P: Float64Array, contiguous: boolean,
): void {
  const nFeats = feats.length;
  for (let c = Atomics.add(next, 0, 1); c * CHUNK < nFeats; c = Atomics.add(next, 0, 1)) {
    accumulateHistogram(hist, bins, n, feats, c * CHUNK, Math.min(nFeats, (c + 1) * CHUNK), rows, start, end, P, contiguous);
  }
}

/** Shared inputs of a grower: what every thread reads. */
export interface SharedInputs {
  bins: Uint8Array;
  gh: Float64Array;
  rows: Uint32Array;
  /** Histogram slots, `d * HIST_FEATURE_STRIDE` doubles each. */
  arena: Float64Array;
  n: number;
  d: number;
}

const shared = <T extends Uint8Array | Uint32Array | Float64Array>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T =>
  new C(new SharedArrayBuffer(Math.max(1, length) * C.BYTES_PER_ELEMENT));

export function sharedInputs(bins: Uint8Array, n: number, d: number, slots: number): SharedInputs {
  const sb = shared(Uint8Array, bins.length);
  sb.set(bins);
  return { bins: sb, gh: shared(Float64Array, n), rows: shared(Uint32Array, n), arena: shared(Float64Array, slots * d * HIST_FEATURE_STRIDE), n, d };
}

/** A job the workers did not finish in this long means a worker died; training fails rather than hang. */
const JOB_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 10_000;

export class HistogramThreads {
  private readonly ctrls: Int32Array[] = [];
  private readonly next = new Int32Array(new SharedArrayBuffer(4));
  private readonly workers: Worker[] = [];
  private seq = 0;

  /**
   * Starts `workers` threads (the caller's is one more) and waits until they are listening. Returns
   * undefined when they cannot start here, so callers fall back to one thread.
   */
  static start(inputs: SharedInputs, workers: number): HistogramThreads | undefined {
    const t = new HistogramThreads(inputs);
    try {
      for (let i = 0; i < workers; i++) t.spawn();
      for (const c of t.ctrls) {
        if (Atomics.wait(c, CTRL.READY, 0, READY_TIMEOUT_MS) === 'timed-out' && Atomics.load(c, CTRL.READY) === 0) throw new Error('histogram worker did not start');
      }
      return t;
    } catch {
      t.close();
      return undefined;
    }
  }

  private constructor(private readonly inputs: SharedInputs) {}

  private spawn(): void {
    const ctrl = new Int32Array(new SharedArrayBuffer((CTRL.FEATS + this.inputs.d) * 4));
    const { bins, gh, rows, arena, n, d } = this.inputs;
    // The worker registers the TypeScript loader itself (threads do not inherit it), so no execArgv.
    const worker = new Worker(new URL('./histogram-worker.mjs', import.meta.url), { workerData: { ctrl, next: this.next, bins, gh, rows, arena, n, d }, execArgv: [] });
    worker.unref();
    worker.on('error', () => {});
    this.ctrls.push(ctrl);
    this.workers.push(worker);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** buildHistogram over the shared inputs into arena slot `slot`, the features shared out over all threads. */
  build(slot: number, feats: Int32Array, nFeats: number, start: number, end: number, contiguous: boolean, ordered: Float64Array): void {
    const { bins, gh, rows, arena, n, d } = this.inputs;
    const hist = arena.subarray(slot * d * HIST_FEATURE_STRIDE, (slot + 1) * d * HIST_FEATURE_STRIDE);
    const mine = feats.subarray(0, nFeats);
    const seq = ++this.seq;
    Atomics.store(this.next, 0, 0);
    for (const c of this.ctrls) {
      c[CTRL.START] = start; c[CTRL.END] = end; c[CTRL.CONTIGUOUS] = contiguous ? 1 : 0; c[CTRL.SLOT] = slot; c[CTRL.NFEATS] = nFeats;
      c.set(mine, CTRL.FEATS);
      Atomics.store(c, CTRL.SEQ, seq);
      Atomics.notify(c, CTRL.SEQ);
    }
    takeChunks(this.next, hist, bins, n, mine, rows, start, end, orderGradients(rows, start, end, gh, ordered, contiguous), contiguous);
    const t0 = Date.now();
    for (const c of this.ctrls) {
      while (Atomics.load(c, CTRL.DONE) !== seq) {
        Atomics.wait(c, CTRL.DONE, Atomics.load(c, CTRL.DONE), 1000);
        if (Date.now() - t0 > JOB_TIMEOUT_MS) throw new Error('histogram worker stopped responding');
      }
      // its features are not summed: the histogram is wrong, so the tree must not be grown from it
      if (c[CTRL.FAILED]) throw new Error('a histogram worker failed (see its error above)');
    }
  }

  close(): void {
    for (const c of this.ctrls) {
      Atomics.store(c, CTRL.SEQ, STOP);
      Atomics.notify(c, CTRL.SEQ);
    }
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
