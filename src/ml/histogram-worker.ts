/** One histogram thread (see histogram-threads.ts): waits for a job, takes feature chunks, says done. */
import { workerData } from 'node:worker_threads';
import { HIST_FEATURE_STRIDE, orderGradients } from './histogram.ts';
import { CTRL, STOP, takeChunks } from './histogram-threads.ts';

const { ctrl, next, bins, gh, rows, arena, n, d } = workerData as {
  ctrl: Int32Array; next: Int32Array; bins: Uint8Array; gh: Float64Array; rows: Uint32Array; arena: Float64Array; n: number; d: number;
};
const ordered = new Float64Array(n);
const size = d * HIST_FEATURE_STRIDE;
Atomics.store(ctrl, CTRL.READY, 1);
Atomics.notify(ctrl, CTRL.READY);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, CTRL.SEQ, seen);
  const seq = Atomics.load(ctrl, CTRL.SEQ);
  if (seq === STOP) break;
  if (seq === seen) continue;
  seen = seq;
  const slot = ctrl[CTRL.SLOT];
  const start = ctrl[CTRL.START], end = ctrl[CTRL.END], contiguous = ctrl[CTRL.CONTIGUOUS] === 1;
  const feats = ctrl.subarray(CTRL.FEATS, CTRL.FEATS + ctrl[CTRL.NFEATS]);
  try {
    const P = orderGradients(rows, start, end, gh, ordered, contiguous);
    takeChunks(next, arena.subarray(slot * size, (slot + 1) * size), bins, n, feats, rows, start, end, P, contiguous);
  } catch (err) {
    // the main thread is blocked waiting, so it cannot hear an 'error' event: say so in shared memory
    console.error(err);
    ctrl[CTRL.FAILED] = 1;
  }
  Atomics.store(ctrl, CTRL.DONE, seq);
  Atomics.notify(ctrl, CTRL.DONE);
}
