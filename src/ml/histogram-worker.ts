/** One histogram thread (see histogram-threads.ts): waits for a job, takes feature chunks, marks each done. */
import { workerData } from 'node:worker_threads';
import { CTRL, orderJob, STOP, sumChunk, takeChunks, type SharedInputs } from './histogram-threads.ts';

const { ctrl, next, done, ...inputs } = workerData as {
  ctrl: Int32Array;
  next: BigInt64Array;
  done: Int32Array;
} & SharedInputs;
const ordered = new Float64Array(inputs.n);
Atomics.add(ctrl, CTRL.READY, 1);
Atomics.notify(ctrl, CTRL.READY);
let seen = 0;
// The job whose gradients `P` holds: they are gathered once per job, and only by a thread that took part in it.
let ordering = 0;
let P: Float64Array = ordered;
for (;;) {
  Atomics.wait(ctrl, CTRL.SEQ, seen);
  seen = Atomics.load(ctrl, CTRL.SEQ);
  if (seen === STOP) break;
  takeChunks(next, (job, c) => {
    try {
      if (ordering !== job) {
        P = orderJob(ctrl, inputs, ordered);
        ordering = job;
      }
      sumChunk(ctrl, inputs, P, c);
    } catch (err) {
      // the main thread is waiting for this chunk, so it cannot hear an 'error' event: say so in shared memory
      console.error(err);
      Atomics.store(ctrl, CTRL.FAILED, 1);
    }
    Atomics.store(done, c, job);
    Atomics.notify(done, c);
  });
}
