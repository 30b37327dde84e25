/**
 * Histograms built on several cores: worker threads read the same bins, gradients and rows through
 * shared memory and take the features of one histogram a few at a time from a shared counter, each
 * filling its features of the same buffer (so a thread the machine slows down takes fewer). Every
 * feature is summed by one thread in row order, so the result is identical to the single-threaded
 * build (and so are the trees).
 *
 * The tree learner is synchronous, so the main thread hands out a job, builds what it takes itself and
 * then waits only for the chunks a worker has taken. It never waits for a worker to wake up: most
 * histograms of a deep tree take less time than waking a thread does (~80 µs here), and such a job is
 * simply done by the main thread before the worker arrives to find nothing left.
 */
import { Worker } from 'node:worker_threads';
import { accumulateHistogram, HIST_FEATURE_STRIDE, orderGradients } from './histogram.ts';

/** Shared control block (Int32 slots); the job's features follow at FEATS. */
export const CTRL = {
  SEQ: 0,
  READY: 1,
  START: 2,
  END: 3,
  CONTIGUOUS: 4,
  SLOT: 5,
  NFEATS: 6,
  FAILED: 7,
  FEATS: 8,
} as const;
export const STOP = -1;
/** Features per chunk: the accumulation loop's width. */
const CHUNK = 4;

/**
 * The chunk counter packs (job, chunks, next chunk) into one 64-bit word, so a thread can only take a
 * chunk of the job the counter describes; a 32-bit job number never comes round again within a run.
 */
const packNext = (job: number, chunks: number, next: number): bigint =>
  (BigInt(job) << 32n) | (BigInt(chunks) << 16n) | BigInt(next);
const MAX_CHUNKS = 0xffff;

/** Takes chunks from the counter until none are left, handing each (with the job it belongs to) to `onChunk`. */
export function takeChunks(next: BigInt64Array, onChunk: (job: number, chunk: number) => void): void {
  for (;;) {
    const v = Atomics.load(next, 0);
    const c = Number(v & 0xffffn);
    if (c >= Number((v >> 16n) & 0xffffn)) return;
    if (Atomics.compareExchange(next, 0, v, v + 1n) !== v) continue;
    onChunk(Number(v >> 32n), c);
  }
}

/** Sums chunk `c` of the job whose parameters are in ctrl. */
export function sumChunk(ctrl: Int32Array, inputs: SharedInputs, P: Float64Array, c: number): void {
  const { bins, rows, arena, n, d } = inputs;
  const size = d * HIST_FEATURE_STRIDE;
  const slot = ctrl[CTRL.SLOT];
  const nFeats = ctrl[CTRL.NFEATS];
  const feats = ctrl.subarray(CTRL.FEATS, CTRL.FEATS + nFeats);
  const hist = arena.subarray(slot * size, (slot + 1) * size);
  accumulateHistogram(
    hist,
    bins,
    n,
    feats,
    c * CHUNK,
    Math.min(nFeats, (c + 1) * CHUNK),
    rows,
    ctrl[CTRL.START],
    ctrl[CTRL.END],
    P,
    ctrl[CTRL.CONTIGUOUS] === 1,
  );
}

/** The job's packed gradients in partition order (see orderGradients), into `ordered`. */
export function orderJob(ctrl: Int32Array, inputs: SharedInputs, ordered: Float64Array): Float64Array {
  return orderGradients(inputs.rows, ctrl[CTRL.START], ctrl[CTRL.END], inputs.gh, ordered, ctrl[CTRL.CONTIGUOUS] === 1);
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

const shared = <T extends Uint8Array | Uint32Array | Float64Array>(
  C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T => new C(new SharedArrayBuffer(Math.max(1, length) * C.BYTES_PER_ELEMENT));

export function sharedInputs(bins: Uint8Array, n: number, d: number, slots: number): SharedInputs {
  const sb = shared(Uint8Array, bins.length);
  sb.set(bins);
  return {
    bins: sb,
    gh: shared(Float64Array, n),
    rows: shared(Uint32Array, n),
    arena: shared(Float64Array, slots * d * HIST_FEATURE_STRIDE),
    n,
    d,
  };
}

/** A chunk a worker took and did not finish in this long means the worker died; training fails rather than hang. */
const JOB_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 10_000;

export class HistogramThreads {
  private readonly ctrl: Int32Array;
  private readonly next = new BigInt64Array(new SharedArrayBuffer(8));
  /** Per chunk: the job that last finished it (written by workers only). */
  private readonly done: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly mine: Uint8Array;
  private job = 0;

  /**
   * Starts `workers` threads (the caller's is one more) and waits until they are listening. Returns
   * undefined when they cannot start here, so callers fall back to one thread.
   */
  static start(inputs: SharedInputs, workers: number): HistogramThreads | undefined {
    if (Math.ceil(inputs.d / CHUNK) > MAX_CHUNKS) return undefined;
    const t = new HistogramThreads(inputs);
    try {
      for (let i = 0; i < workers; i++) t.spawn();
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (let ready = Atomics.load(t.ctrl, CTRL.READY); ready < workers; ready = Atomics.load(t.ctrl, CTRL.READY)) {
        if (Date.now() > deadline) throw new Error('histogram worker did not start');
        Atomics.wait(t.ctrl, CTRL.READY, ready, 100);
      }
      return t;
    } catch {
      t.close();
      return undefined;
    }
  }

  private constructor(private readonly inputs: SharedInputs) {
    this.ctrl = new Int32Array(new SharedArrayBuffer((CTRL.FEATS + inputs.d) * 4));
    const chunks = Math.ceil(inputs.d / CHUNK);
    this.done = new Int32Array(new SharedArrayBuffer(Math.max(1, chunks) * 4));
    this.mine = new Uint8Array(chunks);
  }

  private spawn(): void {
    const { bins, gh, rows, arena, n, d } = this.inputs;
    // From sources the .mjs shim registers the TypeScript loader itself (threads do not inherit it), so no
    // execArgv; compiled (dist/, the package and the image, which have no tsx) the worker is plain JavaScript.
    const worker = new Worker(
      new URL(import.meta.url.endsWith('.ts') ? './histogram-worker.mjs' : './histogram-worker.js', import.meta.url),
      {
        workerData: { ctrl: this.ctrl, next: this.next, done: this.done, bins, gh, rows, arena, n, d },
        execArgv: [],
      },
    );
    worker.unref();
    worker.on('error', () => {});
    this.workers.push(worker);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** buildHistogram over the shared inputs into arena slot `slot`, the features shared out over all threads. */
  build(
    slot: number,
    feats: Int32Array,
    nFeats: number,
    start: number,
    end: number,
    contiguous: boolean,
    ordered: Float64Array,
  ): void {
    const c = this.ctrl;
    // Workers read these only after taking a chunk of this job, which they cannot before the counter names it.
    c[CTRL.START] = start;
    c[CTRL.END] = end;
    c[CTRL.CONTIGUOUS] = contiguous ? 1 : 0;
    c[CTRL.SLOT] = slot;
    c[CTRL.NFEATS] = nFeats;
    c.set(feats.subarray(0, nFeats), CTRL.FEATS);
    const job = (this.job = (this.job % 0x7fffffff) + 1);
    const chunks = Math.ceil(nFeats / CHUNK);
    Atomics.store(this.next, 0, packNext(job, chunks, 0));
    Atomics.store(c, CTRL.SEQ, job);
    Atomics.notify(c, CTRL.SEQ);

    const mine = this.mine.fill(0, 0, chunks);
    let P: Float64Array | undefined;
    takeChunks(this.next, (_job, k) => {
      P ??= orderJob(c, this.inputs, ordered);
      sumChunk(c, this.inputs, P, k);
      mine[k] = 1;
    });
    const t0 = Date.now();
    for (let k = 0; k < chunks; k++) {
      if (mine[k]) continue;
      for (let seen = Atomics.load(this.done, k); seen !== job; seen = Atomics.load(this.done, k)) {
        Atomics.wait(this.done, k, seen, 1000);
        if (Date.now() - t0 > JOB_TIMEOUT_MS) throw new Error('histogram worker stopped responding');
      }
    }
    // a worker's features are not summed: the histogram is wrong, so the tree must not be grown from it
    if (Atomics.load(c, CTRL.FAILED)) throw new Error('a histogram worker failed (see its error above)');
  }

  close(): void {
    Atomics.store(this.ctrl, CTRL.SEQ, STOP);
    Atomics.notify(this.ctrl, CTRL.SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
