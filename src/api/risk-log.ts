import type { Store } from '../store/types.ts';

/** Event kind of a recorded risk check (the dashboard's overview and detail pages read it). */
export const RISK_EVENT = 'risk';

export interface RiskLog {
  record(repo: string, payload: Record<string, unknown>): void;
  /** Writes whatever is queued now (shutdown, tests). */
  flush(): void;
  close(): void;
}

/**
 * Risk checks are logged for the dashboard in small batches, one transaction per batch, instead of one write
 * per request: the check is on every build's path, and with several worker processes a write per request
 * would make them queue on SQLite's single write lock. A crash loses at most one interval of this log
 * (never runs or outcomes); a store that cannot write drops the batch with a warning, and the answers the
 * checks already got are unaffected.
 */
export function createRiskLog(store: Store, o: { intervalMs?: number; maxBatch?: number; log?: { warn(o: object, m?: string): void } } = {}): RiskLog {
  const intervalMs = o.intervalMs ?? 250;
  const maxBatch = o.maxBatch ?? 500;
  let queue: [string, Record<string, unknown>][] = [];
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
        for (const [repo, payload] of batch) store.appendEvent(RISK_EVENT, repo, payload);
      });
    } catch (err) {
      o.log?.warn({ err: err instanceof Error ? err.message : String(err), dropped: batch.length }, 'could not record risk checks for the dashboard');
    }
  };

  return {
    record(repo, payload) {
      if (closed) return;
      queue.push([repo, payload]);
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
