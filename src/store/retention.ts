/**
 * Retention (issue 16.7): events (risk checks for the dashboard, canary decisions and their raw samples,
 * job runs) were never deleted — +43 MB per 50k risk checks — and every rollout kept its state row
 * (`canary:<service>@<version>`) forever. Both are pruned by age, in batches of a few hundred rows, each
 * its own short transaction, with a turn of the event loop between batches, so requests never wait behind
 * a long delete (a 500-row batch is a few milliseconds of write lock). Runs, outcomes, circuits, models
 * and the audit log are not touched: they are training data or a record someone may have to answer for.
 */
import type { Store } from './types.ts';

export interface RetentionSettings {
  /** Days an event is kept; 0 keeps them forever. */
  eventDays: number;
  /** Days a rollout's state is kept after its last decision; 0 keeps it forever. */
  rolloutDays: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { eventDays: 90, rolloutDays: 30 };

const ROLLOUT_PREFIX = 'canary:';
const DAY_MS = 86_400_000;
const turn = () => new Promise<void>((r) => setImmediate(r));

export interface PruneResult {
  events: number;
  rollouts: number;
  batches: number;
}

export async function pruneOnce(
  store: Store,
  settings: RetentionSettings,
  o: { now?: () => number; batch?: number } = {},
): Promise<PruneResult> {
  const now = (o.now ?? Date.now)();
  const batch = o.batch ?? 500;
  const out: PruneResult = { events: 0, rollouts: 0, batches: 0 };
  if (settings.eventDays > 0) {
    const before = new Date(now - settings.eventDays * DAY_MS).toISOString();
    for (;;) {
      const { deleted, done } = store.pruneEvents(before, batch);
      out.events += deleted;
      if (deleted > 0) out.batches++;
      if (done || deleted === 0) break;
      await turn();
    }
  }
  if (settings.rolloutDays > 0) {
    const before = now - settings.rolloutDays * DAY_MS;
    let after = '';
    for (;;) {
      const rows = store.scanState(ROLLOUT_PREFIX, after, batch);
      if (rows.length === 0) break;
      after = rows[rows.length - 1][0];
      const expired = rows.filter(([, value]) => {
        try {
          const at = (JSON.parse(value) as { decided_at?: unknown }).decided_at;
          return typeof at === 'number' && at < before;
        } catch {
          return false; // unreadable: left for a person to look at
        }
      });
      if (expired.length > 0) {
        store.transaction(() => {
          for (const [key] of expired) store.deleteState(key);
        });
        out.rollouts += expired.length;
        out.batches++;
      }
      if (rows.length < batch) break;
      await turn();
    }
  }
  return out;
}

export interface Retention {
  /** One pass now (also what the timer runs); never two at once. */
  run(): Promise<PruneResult>;
  stop(): void;
}

/** Prunes a minute after start and then every `intervalMs` (an hour); failures are logged and retried next time. */
export function startRetention(
  store: Store,
  settings: RetentionSettings,
  o: {
    intervalMs?: number;
    firstMs?: number;
    log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  } = {},
): Retention {
  let running: Promise<PruneResult> | null = null;
  let stopped = false;
  const run = () =>
    (running ??= pruneOnce(store, settings)
      .then((r) => {
        if (r.events || r.rollouts)
          o.log?.info(
            { ...r, event_days: settings.eventDays, rollout_days: settings.rolloutDays },
            'retention: pruned',
          );
        return r;
      })
      .finally(() => (running = null)));
  const tick = () => {
    if (stopped) return;
    run().catch((err: unknown) =>
      o.log?.warn({ err: (err as Error).message }, 'retention: pruning failed; retrying next interval'),
    );
  };
  const first = setTimeout(tick, o.firstMs ?? 60_000);
  const every = setInterval(tick, o.intervalMs ?? 3_600_000);
  first.unref();
  every.unref();
  return {
    run,
    stop: () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
    },
  };
}
