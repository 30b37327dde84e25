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
  /** Resolves once the worker has run its last checkpoint and closed its connection. */
  stop(): Promise<void>;
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
  if (m === 'stop') { clearInterval(timer); run(); db.close(); parentPort.close(); }
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
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: opts.intervalMs ?? 250 } });
  let stopping = false;
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
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!stopping) restoreAuto(`checkpointer exited (${code})`);
      resolve();
    }),
  );
  // After the listeners: attaching a 'message' listener refs the worker's port again.
  worker.unref();
  return {
    stop: async () => {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      // A worker that does not finish its last checkpoint promptly is not worth delaying shutdown for.
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
      await Promise.race([exited, timeout]);
      await worker.terminate().catch(() => undefined);
      restoreAuto();
    },
  };
}
