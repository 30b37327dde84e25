/**
 * Write-ahead-log checkpoints off the request thread.
 *
 * SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages, so one request in
 * every few dozen canary decisions (each writes ~70 KB of samples) paid for copying 4 MB into the database
 * and fsyncing it — 10–15 ms, the whole p99. The server turns the automatic checkpoint off and a worker
 * thread with its own connection runs PASSIVE checkpoints, which never wait for or block readers and
 * writers. Should the worker die, automatic checkpoints are switched back on, so the WAL cannot grow
 * without bound.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface Checkpointer {
  /**
   * Returns once the worker has closed its connection (or after 2 s), so the store's own close that
   * follows is the last connection's: SQLite then checkpoints and removes the WAL before close returns.
   */
  stop(): void;
}

/** The worker is plain JavaScript, so it runs the same with or without the TypeScript loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const run = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
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

export function startCheckpointer(
  db: Database.Database,
  file: string,
  opts: { intervalMs?: number; onError?: (message: string) => void } = {},
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  db.pragma('wal_autocheckpoint = 0');
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: opts.intervalMs ?? 250, closed } });
  let stopping = false;
  let exited = false;
  const restoreAuto = (why?: string): void => {
    try {
      if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    } catch {
      // the connection is closing; nothing left to checkpoint for
    }
    if (why) opts.onError?.(why);
  };
  worker.on('message', (m: { error?: string }) => {
    if (m.error) opts.onError?.(`checkpoint failed: ${m.error}`);
  });
  worker.on('error', (err) => restoreAuto(`checkpointer crashed: ${err.message}`));
  worker.once('exit', (code) => {
    exited = true;
    if (!stopping) restoreAuto(`checkpointer exited (${code})`);
  });
  // After the listeners: attaching a 'message' listener refs the worker's port again.
  worker.unref();
  return {
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
