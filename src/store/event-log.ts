import type { Store } from './types.ts';

export interface EventLog {
  record(key: string, payload: Record<string, unknown>, data?: Uint8Array): void;
  /** Writes whatever is queued now (shutdown, tests). */
  flush(): void;
  close(): void;
}

export interface EventLogOptions {
  /** Delay before a queued batch is written; 0 writes it on the next turn of the event loop. */
  intervalMs?: number;
  maxBatch?: number;
  log?: { warn(o: object, m?: string): void };
}

/**
 * Events written behind the answer, in batches, one transaction per batch, instead of inside the request:
 * with several worker processes a write per request makes them queue on SQLite's single write lock, and
 * a large payload (a canary decision's raw samples) costs the request its latency budget. A crash loses at
 * most one interval of such a log — never runs, outcomes, decisions or rollout state, which are written
 * before answering; a store that cannot write drops the batch with a warning, and the answers already
 * given are unaffected.
 */
export function createEventLog(store: Store, kind: string, o: EventLogOptions = {}): EventLog {
  const intervalMs = o.intervalMs ?? 250;
  const maxBatch = o.maxBatch ?? 500;
  let queue: [string, Record<string, unknown>, Uint8Array | undefined][] = [];
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      store.transaction(() => {
        for (const [key, payload, data] of batch) store.appendEvent(kind, key, payload, data);
      });
    } catch (err) {
      o.log?.warn(
        { err: err instanceof Error ? err.message : String(err), kind, dropped: batch.length },
        'could not write logged events',
      );
    }
  };

  return {
    record(key, payload, data) {
      if (closed) return;
      queue.push([key, payload, data]);
      if (queue.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, intervalMs).unref();
    },
    flush,
    close() {
      flush();
      closed = true;
    },
  };
}
