/**
 * Write-ahead-log checkpoints off the request thread.
 *
 * SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages, so one request in
 * every few dozen canary decisions (each writes ~70 KB of samples) paid for copying 4 MB into the database
 * and fsyncing it — 10–15 ms, the whole p99. The server turns the automatic checkpoint off and a worker
 * thread with its own connection runs PASSIVE checkpoints, which never wait for or block readers and
 * writers. Should the worker die, automatic checkpoints are switched back on, so the WAL cannot grow
 * without bound.
 *
 * PASSIVE alone did not bound it (issue 16.4): a PASSIVE checkpoint copies the frames that exist when it
 * starts, and the WAL only starts over from its beginning when a writer finds every frame copied. Writers
 * that never pause (16 canary writers, ~29 MB/s) always add frames first, so the file grew to 868 MB in
 * 30 s against an 83 MB database, and a WAL file never shrinks by itself. A TRUNCATE checkpoint from this
 * thread does not help then: it has to wait for the write lock, and a busy writer (back-to-back commits on
 * the request thread) takes it again before the checkpoint's busy handler wakes up. So:
 * - when the WAL holds more than `walLimitBytes` (64 MiB; seen by the worker, or by the request thread's own
 *   look at the file's size at most every 50 ms after a write) the request thread turns
 *   SQLite's automatic checkpoint back on (every 1,000 pages, inside the commit: the writer itself copies the
 *   last frames, so the next commit starts the WAL over) until the WAL is back under half the limit; the
 *   worker meanwhile checkpoints only every 20th tick, as its checkpoint would make theirs give up. The
 *   10–15 ms in-commit checkpoints are paid only while writers outrun the worker;
 * - `journal_size_limit` cuts a WAL that starts over back to the limit, so the file stays near it;
 * - when writers pause (no commit for `idleMs`, 1 s) the worker runs a TRUNCATE checkpoint, so an idle
 *   server's WAL is zero bytes rather than the high-water mark of its last burst.
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface Checkpointer {
  /**
   * Returns once the worker has closed its connection (or after 2 s), so the store's own close that
   * follows is the last connection's: SQLite then checkpoints and removes the WAL before close returns.
   */
  stop(): void;
  /**
   * Called after each write on the request thread. At most every 50 ms it reads the WAL file's size, so
   * passing the limit turns in-commit checkpoints on even while the worker thread waits for a CPU (on a
   * busy 2-core machine it did not get one for a third of a second, and the WAL grew 15 MB meanwhile).
   */
  afterWrite(): void;
}

/** The worker is plain JavaScript, so it runs the same with or without the TypeScript loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('journal_size_limit = ' + workerData.walLimitBytes);
const frameBytes = db.pragma('page_size', { simple: true }) + 24;
const walFile = workerData.file + '-wal';
const walSize = () => { try { return statSync(walFile).size; } catch { return 0; } };
const dataVersion = db.prepare('PRAGMA data_version').pluck();
let lastVersion = -1;
let quietSince = Date.now();
let over = false;
let overTicks = 0;
const run = () => {
  try {
    const v = dataVersion.get();
    const now = Date.now();
    if (v !== lastVersion) { lastVersion = v; quietSince = now; }
    if (now - quietSince >= workerData.idleMs && walSize() > 0) {
      const before = walSize();
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)');
      parentPort.postMessage({ truncated: { before, after: walSize(), busy: r ? r.busy : null } });
      return;
    }
    // The file's size, before a checkpoint that may take a while: the WAL holds at most that much.
    const size = walSize();
    if (!over && size > workerData.walLimitBytes) { over = true; overTicks = 0; parentPort.postMessage({ over, walBytes: size }); }
    // While commits checkpoint themselves, this thread's own checkpoint (holding the checkpoint lock while it
    // copies and fsyncs, 300 ms on a busy disk) makes theirs give up as busy, and the WAL grows meanwhile: it
    // only checks in on every 20th tick (5 s), to see whether they have caught up.
    if (over && ++overTicks % 20 !== 0) return;
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Frames in the WAL, to see the commits catch up (the file's size cannot show it: a WAL that starts over
    // reuses a file of the old length).
    const bytes = r && r.log > 0 ? r.log * frameBytes : 0;
    const next = over ? bytes > workerData.walLimitBytes / 2 : bytes > workerData.walLimitBytes;
    if (next !== over) { over = next; overTicks = 0; parentPort.postMessage({ over, walBytes: bytes }); }
  } catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m && m.over) { over = true; overTicks = 0; return; }
  if (m === 'stop') {
    clearInterval(timer);
    db.close();
    Atomics.store(workerData.closed, 0, 1);
    Atomics.notify(workerData.closed, 0);
    parentPort.close();
  }
});
`;

const AUTO_PAGES = 1000;

/** WAL content past which commits checkpoint themselves again (SQLite's automatic checkpoint). */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

export interface CheckpointerOptions {
  intervalMs?: number;
  /** WAL content past which commits checkpoint themselves until it is back under half (default 64 MiB). */
  walLimitBytes?: number;
  /** No commit for this long counts as writers pausing: the WAL is emptied (default 1 s). */
  idleMs?: number;
  onError?: (message: string) => void;
  /** Writers outran the worker (WAL past the limit: in-commit checkpoints on) or it caught up (off again). */
  onPressure?: (p: { over: boolean; walBytes: number }) => void;
  /** Each idle TRUNCATE checkpoint: WAL bytes before and after (0 unless a reader held it), for tests and logs. */
  onTruncate?: (t: { before: number; after: number; busy: number | null }) => void;
}

export function startCheckpointer(db: Database.Database, file: string, opts: CheckpointerOptions = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const walLimitBytes = opts.walLimitBytes ?? WAL_LIMIT_BYTES;
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${walLimitBytes}`);
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      file,
      driver,
      intervalMs: opts.intervalMs ?? 250,
      walLimitBytes,
      idleMs: opts.idleMs ?? 1000,
      closed,
    },
  });
  let stopping = false;
  let exited = false;
  let over = false;
  let lastCheck = 0;
  const walFile = `${file}-wal`;
  const setOver = (next: boolean, walBytes: number, tellWorker: boolean): void => {
    if (next === over || stopping || !db.open) return;
    over = next;
    db.pragma(`wal_autocheckpoint = ${over ? AUTO_PAGES : 0}`);
    if (tellWorker) worker.postMessage({ over });
    opts.onPressure?.({ over, walBytes });
  };
  const restoreAuto = (why?: string): void => {
    try {
      if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    } catch {
      // the connection is closing; nothing left to checkpoint for
    }
    if (why) opts.onError?.(why);
  };
  worker.on(
    'message',
    (m: {
      error?: string;
      truncated?: { before: number; after: number; busy: number | null };
      over?: boolean;
      walBytes?: number;
    }) => {
      if (m.error) opts.onError?.(`checkpoint failed: ${m.error}`);
      if (m.truncated) opts.onTruncate?.(m.truncated);
      if (m.over !== undefined) setOver(m.over, m.walBytes ?? 0, false);
    },
  );
  worker.on('error', (err) => restoreAuto(`checkpointer crashed: ${err.message}`));
  worker.once('exit', (code) => {
    exited = true;
    if (!stopping) restoreAuto(`checkpointer exited (${code})`);
  });
  // After the listeners: attaching a 'message' listener refs the worker's port again.
  worker.unref();
  return {
    afterWrite: () => {
      if (over || stopping) return;
      const now = Date.now();
      if (now - lastCheck < 50) return;
      lastCheck = now;
      let size: number;
      try {
        size = statSync(walFile).size;
      } catch {
        return;
      }
      if (size > walLimitBytes) setOver(true, size, true);
    },
    stop: () => {
      if (stopping) return;
      stopping = true;
      worker.postMessage('stop');
      // Store.close() is synchronous; a worker still holding the file would race whoever removes it next.
      if (!exited) Atomics.wait(closed, 0, 0, 2000);
      void worker.terminate().catch(() => undefined);
      restoreAuto();
    },
  };
}
