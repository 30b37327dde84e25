import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunRecord } from '../records/schema.ts';
import { startCheckpointer, type CheckpointerOptions } from './checkpointer.ts';
import { MIGRATIONS } from './migrations.ts';
import {
  StoreUnavailableError,
  type AuditRow,
  type CircuitRow,
  type ModelIndexRow,
  type RunChanges,
  type RunKey,
  type RunQuery,
  type Store,
  type StoredEvent,
  type UpsertResult,
} from './types.ts';

/** SQLite error codes that mean "storage cannot take writes now" rather than a bug. */
const UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB|PERM)/;
/** Of those, the ones that only mean another connection held the lock past the busy timeout. */
const CONTENDED = /^SQLITE_(BUSY|LOCKED)/;

/** The change log keeps about this many upserts (per repo rows); a reader further behind sees `truncated`. */
const CHANGE_LOG_KEEP = 5000;
/** An upsert touching more runs of one repo than this logs the repo alone (runs = NULL). */
const CHANGE_LOG_MAX_KEYS = 64;

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && UNAVAILABLE.test(code))
      throw new StoreUnavailableError(`store unavailable (${code})`, err);
    throw err;
  }
}

/** The raw connection behind a store, for tests that inject real SQLite faults (PRAGMA max_page_count, query_only). */
const RAW = new WeakMap<Store, Database.Database>();
export function rawConnection(store: Store): Database.Database | undefined {
  return RAW.get(store);
}

const ms = (iso: string | null): number | null => (iso == null ? null : Date.parse(iso));

function migrate(db: Database.Database): void {
  for (;;) {
    // IMMEDIATE, and the version re-read under the write lock, so two processes opening an old file at once
    // cannot both run a migration.
    const more = db
      .transaction(() => {
        const v = db.pragma('user_version', { simple: true }) as number;
        if (v >= MIGRATIONS.length) return false;
        db.exec(MIGRATIONS[v]);
        db.pragma(`user_version = ${v + 1}`);
        return true;
      })
      .immediate();
    if (!more) return;
  }
}

export interface OpenStoreOptions {
  readonly?: boolean;
  /** Checkpoint the WAL from a worker thread instead of inside commits (long-running servers). */
  backgroundCheckpoint?: boolean;
  onCheckpointError?: (message: string) => void;
  /** WAL bounds and interval for the background checkpointer (defaults: 64 MiB, emptied after 1 s idle). */
  checkpoint?: Omit<CheckpointerOptions, 'onError'>;
}

/**
 * Opens (creating if needed) the SQLite store. WAL mode so the API can read while ingestion writes;
 * `synchronous=NORMAL` is durable across process crashes in WAL mode, which is the failure we guard against.
 * The Store is assembled from its parts below: runs (with the change log and change notices), state,
 * events and audit, circuits and models, locks; every write goes through one WriteGuard.
 */
export function openStore(file: string, opts: OpenStoreOptions = {}): Store {
  const db = openDatabase(file, opts);
  const checkpointer =
    opts.backgroundCheckpoint && !opts.readonly && file !== ':memory:'
      ? startCheckpointer(db, file, { ...opts.checkpoint, onError: opts.onCheckpointError })
      : undefined;
  const write = new WriteGuard(() => checkpointer?.afterWrite());
  const tx = new Transactions(db, write);
  const store: Store = {
    ...runsPart(db, write, tx),
    ...statePart(db, write),
    ...eventsPart(db, write, tx),
    ...registryPart(db, write),
    ...locksPart(db, write),
    onRunsChanged: (listener) => tx.onRunsChanged(listener),
    // A transaction may only read, so its success does not clear a fault; its writes inside do.
    transaction: (fn) => tx.run(fn),
    ping: () => {
      try {
        return db.prepare('SELECT 1').pluck().get() === 1;
      } catch {
        return false;
      }
    },
    writeStatus: () => write.status(),
    close: () => {
      checkpointer?.stop();
      db.close();
    },
  };
  RAW.set(store, db);
  return store;
}

/** The connection: created with its folder, pragmas set and migrated (unless read-only). */
function openDatabase(file: string, opts: OpenStoreOptions): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = guard(() => new Database(file, { readonly: opts.readonly ?? false }));
  if (!opts.readonly) {
    guard(() => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    });
  }
  if (file !== ':memory:') {
    guard(() => {
      // The audit logs make a busy server's file grow by ~1 MB/s; with SQLite's 2 MB default cache the run
      // indexes soon live in the OS page cache, and every page read is a system call (costly in a VM).
      // Reads through a memory map and a 64 MB cache keep the hot indexes at memory speed; writes still go
      // through write(), so a full disk or an I/O error is an error, not a signal.
      db.pragma('cache_size = -65536');
      db.pragma('mmap_size = 268435456');
    });
  }
  return db;
}

/**
 * Whether the last write could be made: reads (and so /v1/risk) keep working on a full disk or a read-only
 * file, so readiness alone does not show it; /health reports this. Cleared by the next successful write.
 * Lock contention is not a fault of the storage: SQLITE_BUSY/LOCKED (another writer held the lock past the
 * busy timeout) still fails that write (StoreUnavailableError → 503, retry) but leaves this status alone.
 */
class WriteGuard {
  private fault: { error: string; since: string } | null = null;
  constructor(private readonly afterWrite: () => void) {}

  run<T>(fn: () => T, clears = true): T {
    try {
      const out = guard(fn);
      if (clears) this.fault = null;
      this.afterWrite();
      return out;
    } catch (err) {
      const code = String((err as { cause?: { code?: string } }).cause?.code ?? 'SQLITE_ERROR');
      if (err instanceof StoreUnavailableError && !CONTENDED.test(code)) {
        this.fault = {
          error: `${code}: ${(err.cause as Error | undefined)?.message ?? err.message}`,
          since: this.fault?.since ?? new Date().toISOString(),
        };
      }
      throw err;
    }
  }

  status(): { ok: true } | { ok: false; error: string; since: string } {
    return this.fault ? { ok: false, ...this.fault } : { ok: true };
  }
}

type RunsListener = (repos: ReadonlySet<string>, runs: readonly RunRecord[]) => void;

/**
 * store.transaction() and the change notices it holds back: upserts inside a transaction are reported when
 * the outermost one commits (a cache must not take in a write that is then rolled back); a savepoint that
 * rolls back drops its part.
 */
class Transactions {
  private readonly listeners = new Set<RunsListener>();
  private depth = 0;
  private pending: RunRecord[] = [];
  /**
   * One wrapper for every call: db.transaction() builds a wrapper per transaction mode and defines their
   * properties, which cost a canary decision's write as much as its empty commit did.
   */
  readonly immediate: (fn: () => unknown) => unknown;

  constructor(
    db: Database.Database,
    private readonly write: WriteGuard,
  ) {
    this.immediate = db.transaction((fn: () => unknown) => fn()).immediate;
  }

  run<T>(fn: () => T): T {
    const mark = this.pending.length;
    this.depth++;
    let out: T;
    try {
      out = this.write.run(() => this.immediate(fn) as T, false);
    } catch (err) {
      this.pending.length = mark;
      throw err;
    } finally {
      this.depth--;
    }
    if (this.depth === 0 && this.pending.length > 0) {
      const runs = this.pending;
      this.pending = [];
      this.notify(runs);
    }
    return out;
  }

  /** Reports runs an upsert changed: now, or when the outermost transaction commits. */
  changed(runs: readonly RunRecord[]): void {
    if (this.depth > 0) this.pending.push(...runs);
    else this.notify(runs);
  }

  onRunsChanged(listener: RunsListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private notify(runs: readonly RunRecord[]): void {
    if (this.listeners.size === 0 || runs.length === 0) return;
    const repos = new Set(runs.map((r) => r.repo));
    for (const l of this.listeners) l(repos, runs);
  }
}

/** A completed record is never replaced by a still-running copy of the same attempt (out-of-order delivery). */
function shouldReplace(stored: RunRecord, next: RunRecord): boolean {
  if (stored.conclusion != null && next.conclusion == null) return false;
  return true;
}

const parseRuns = (rows: unknown[]): RunRecord[] => rows.map((j) => JSON.parse(j as string) as RunRecord);

type RunsPart = Pick<
  Store,
  | 'upsertRuns'
  | 'iterateRuns'
  | 'recentRuns'
  | 'recentRunsByActor'
  | 'recentOutcomesByActor'
  | 'countRuns'
  | 'repos'
  | 'getRun'
  | 'dataVersion'
  | 'changedReposSince'
>;

/** Run records: upserts (with their change-log rows and notices) and the reads features and training make. */
function runsPart(db: Database.Database, write: WriteGuard, tx: Transactions): RunsPart {
  const s = {
    getRecord: db.prepare('SELECT record FROM runs WHERE repo=? AND workflow=? AND run_id=? AND run_attempt=?').pluck(),
    insertRun: db.prepare(
      'INSERT INTO runs (repo, workflow, run_id, run_attempt, created_ms, completed_ms, actor, conclusion, record) VALUES (?,?,?,?,?,?,?,?,?)',
    ),
    updateRun: db.prepare(
      'UPDATE runs SET created_ms=?, completed_ms=?, actor=?, conclusion=?, record=? WHERE repo=? AND workflow=? AND run_id=? AND run_attempt=?',
    ),
    recent: db
      .prepare(
        'SELECT record FROM runs WHERE repo=? AND created_ms<? ORDER BY created_ms DESC, run_id DESC, run_attempt DESC LIMIT ?',
      )
      .pluck(),
    recentByActor: db
      .prepare(
        'SELECT record FROM runs WHERE repo=? AND actor=? AND created_ms<? ORDER BY created_ms DESC, run_id DESC, run_attempt DESC LIMIT ?',
      )
      .pluck(),
    recentOutcomesByActor: db.prepare(
      'SELECT created_ms, completed_ms, run_id, run_attempt, conclusion FROM runs WHERE repo=? AND actor=? AND created_ms<? ORDER BY created_ms DESC, run_id DESC, run_attempt DESC LIMIT ?',
    ),
    countAll: db.prepare('SELECT count(*) FROM runs').pluck(),
    countRepo: db.prepare('SELECT count(*) FROM runs WHERE repo=?').pluck(),
    repos: db.prepare('SELECT DISTINCT repo FROM runs ORDER BY repo').pluck(),
  };
  // Prepared on first use: a read-only open of a file from before migration 2 has no run_changes table.
  const lazy = (sql: string) => {
    let st: Database.Statement | undefined;
    return () => (st ??= db.prepare(sql));
  };
  const log = {
    add: lazy('INSERT INTO run_changes (repo, writer, runs) VALUES (?, ?, ?)'),
    prune: lazy('DELETE FROM run_changes WHERE seq <= ?'),
    since: lazy('SELECT repo, runs FROM run_changes WHERE seq > ? AND writer <> ? ORDER BY seq'),
    bounds: lazy('SELECT min(seq) AS lo, max(seq) AS hi FROM run_changes'),
  };
  /** Tells this connection's change-log rows from other connections' (see changedReposSince). */
  const writer = randomUUID();

  type Upserted = UpsertResult & { changed: RunRecord[] };
  const upsertTx = db.transaction((records: RunRecord[]): Upserted => {
    const res: Upserted = { inserted: 0, updated: 0, unchanged: 0, changed: [] };
    for (const r of records) {
      const json = JSON.stringify(r);
      const existing = s.getRecord.get(r.repo, r.workflow, r.run_id, r.run_attempt) as string | undefined;
      if (existing === undefined) {
        s.insertRun.run(
          r.repo,
          r.workflow,
          r.run_id,
          r.run_attempt,
          ms(r.created_at),
          ms(r.completed_at),
          r.actor,
          r.conclusion,
          json,
        );
        res.inserted++;
        res.changed.push(r);
      } else if (existing === json || !shouldReplace(JSON.parse(existing) as RunRecord, r)) {
        res.unchanged++;
      } else {
        s.updateRun.run(
          ms(r.created_at),
          ms(r.completed_at),
          r.actor,
          r.conclusion,
          json,
          r.repo,
          r.workflow,
          r.run_id,
          r.run_attempt,
        );
        res.updated++;
        res.changed.push(r);
      }
    }
    // One change-log row per repo changed, in the same transaction as the writes it describes.
    const byRepo = new Map<string, RunKey[]>();
    for (const r of res.changed) {
      let keys = byRepo.get(r.repo);
      if (!keys) byRepo.set(r.repo, (keys = []));
      keys.push([r.workflow, r.run_id, r.run_attempt]);
    }
    for (const [repo, keys] of byRepo) {
      const seq = Number(
        log.add().run(repo, writer, keys.length > CHANGE_LOG_MAX_KEYS ? null : JSON.stringify(keys)).lastInsertRowid,
      );
      if (seq % 256 === 0 && seq > CHANGE_LOG_KEEP) log.prune().run(seq - CHANGE_LOG_KEEP);
    }
    return res;
  });
  const upsertMany = upsertTx.immediate;

  const changedReposSince = db.transaction((since: number): RunChanges => {
    const rows = log.since().all(since, writer) as { repo: string; runs: string | null }[];
    const { lo, hi } = log.bounds().get() as { lo: number | null; hi: number | null };
    const seq = hi ?? 0;
    // Rows are numbered without gaps (AUTOINCREMENT, commits serialised) and pruned oldest first, so the log
    // still covers `since` iff its oldest row is at most since+1; a position past the newest means a reset.
    const truncated = since > seq || (lo !== null && lo > since + 1);
    const runs = new Map<string, RunKey[] | null>();
    for (const r of rows) {
      const had = runs.get(r.repo);
      if (had === null) continue;
      if (r.runs === null) runs.set(r.repo, null);
      else runs.set(r.repo, [...(had ?? []), ...(JSON.parse(r.runs) as RunKey[])]);
    }
    return { repos: [...runs.keys()], runs, seq, truncated };
  }).deferred;
  const dataVersion = db.prepare('PRAGMA data_version').pluck();

  return {
    upsertRuns: (records) => {
      const { changed, ...res } = write.run(() => upsertMany(records));
      tx.changed(changed);
      return res;
    },
    *iterateRuns(q: RunQuery = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.repo) {
        where.push('repo = ?');
        args.push(q.repo);
      }
      if (q.since) {
        where.push('created_ms >= ?');
        args.push(Date.parse(q.since));
      }
      if (q.until) {
        where.push('created_ms < ?');
        args.push(Date.parse(q.until));
      }
      const sql = `SELECT record FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY repo, created_ms, run_id, run_attempt`;
      for (const j of guard(() =>
        db
          .prepare(sql)
          .pluck()
          .iterate(...args),
      ))
        yield JSON.parse(j as string) as RunRecord;
    },
    recentRuns: (repo, beforeIso, limit) => guard(() => parseRuns(s.recent.all(repo, Date.parse(beforeIso), limit))),
    recentRunsByActor: (repo, actor, beforeIso, limit) =>
      guard(() => parseRuns(s.recentByActor.all(repo, actor, Date.parse(beforeIso), limit))),
    // Raw rows (arrays): this runs on every risk check whose author had a new outcome, and object rows cost more.
    recentOutcomesByActor: (repo, actor, beforeIso, limit) =>
      guard(() =>
        (
          s.recentOutcomesByActor.raw(true).all(repo, actor, Date.parse(beforeIso), limit) as [
            number,
            number | null,
            string,
            number,
            string | null,
          ][]
        ).map(([created_ms, completed_ms, run_id, run_attempt, conclusion]) => ({
          created_ms,
          completed_ms,
          run_id,
          run_attempt,
          conclusion,
        })),
      ),
    countRuns: (repo) => guard(() => (repo ? s.countRepo.get(repo) : s.countAll.get()) as number),
    repos: () => guard(() => s.repos.all() as string[]),
    getRun: (repo, workflow, runId, attempt) => {
      const j = guard(() => s.getRecord.get(repo, workflow, runId, attempt)) as string | undefined;
      return j === undefined ? undefined : (JSON.parse(j) as RunRecord);
    },
    dataVersion: () => guard(() => dataVersion.get() as number),
    changedReposSince: (since) => guard(() => changedReposSince(since)),
  };
}

/** The key-value state table (ingest cursors, canary rollouts, the A/B trial…). */
function statePart(
  db: Database.Database,
  write: WriteGuard,
): Pick<Store, 'getState' | 'setState' | 'deleteState' | 'scanState'> {
  const s = {
    getState: db.prepare('SELECT value FROM state WHERE key=?').pluck(),
    setState: db.prepare(
      'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
    ),
    delState: db.prepare('DELETE FROM state WHERE key=?'),
    scanState: db.prepare('SELECT key, value FROM state WHERE key > ? AND key < ? ORDER BY key LIMIT ?').raw(true),
  };
  return {
    getState: (key) => guard(() => s.getState.get(key) as string | undefined),
    setState: (key, value) => void write.run(() => s.setState.run(key, value)),
    deleteState: (key) => void write.run(() => s.delState.run(key)),
    // A range of the primary key: from where the last page ended to the first key past the prefix (its last
    // character plus one, e.g. "canary:" → "canary;").
    scanState: (prefix, after, limit) =>
      guard(() => {
        const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
        return s.scanState.all(after < prefix ? prefix : after, end, limit) as [string, string][];
      }),
  };
}

/** The event log (risk answers, canary decisions and hooks…) and the audit log. */
function eventsPart(
  db: Database.Database,
  write: WriteGuard,
  tx: Transactions,
): Pick<Store, 'appendEvent' | 'listEvents' | 'pruneEvents' | 'appendAudit' | 'listAudit'> {
  const s = {
    oldestEvents: db.prepare('SELECT seq, at FROM events ORDER BY seq LIMIT ?').raw(true),
    deleteEventsTo: db.prepare('DELETE FROM events WHERE seq <= ?'),
    appendAudit: db.prepare('INSERT INTO audit (at, row) VALUES (?, ?)'),
    listAudit: db.prepare('SELECT row FROM audit ORDER BY seq DESC LIMIT ?').pluck(),
    appendEvent: db.prepare('INSERT INTO events (kind, key, at, payload, data) VALUES (?, ?, ?, ?, ?)'),
    listEvents: db.prepare('SELECT key, at, payload, data FROM events WHERE kind=? ORDER BY seq DESC LIMIT ?'),
    listEventsByKey: db.prepare(
      'SELECT key, at, payload, data FROM events WHERE kind=? AND key=? ORDER BY seq DESC LIMIT ?',
    ),
  };
  return {
    pruneEvents: (beforeIso, limit) =>
      write.run(
        () =>
          tx.immediate(() => {
            const rows = s.oldestEvents.all(limit) as [number, string][];
            let last = -1;
            let newer = false;
            for (const [seq, at] of rows) {
              if (at >= beforeIso) {
                newer = true;
                break;
              }
              last = seq;
            }
            const deleted = last < 0 ? 0 : s.deleteEventsTo.run(last).changes;
            return { deleted, done: newer || rows.length < limit };
          }) as { deleted: number; done: boolean },
      ),
    appendAudit: (row) => void write.run(() => s.appendAudit.run(row.at, JSON.stringify(row))),
    listAudit: (limit) => guard(() => s.listAudit.all(limit).map((j) => JSON.parse(j as string) as AuditRow)),
    appendEvent: (kind, key, payload, data) =>
      void write.run(() =>
        s.appendEvent.run(kind, key, new Date().toISOString(), JSON.stringify(payload), data ?? null),
      ),
    listEvents: (kind, opts = {}) =>
      guard(
        () =>
          (opts.key
            ? s.listEventsByKey.all(kind, opts.key, opts.limit ?? 100)
            : s.listEvents.all(kind, opts.limit ?? 100)) as {
            key: string;
            at: string;
            payload: string;
            data: Buffer | null;
          }[],
      ).map((r) => {
        const e: StoredEvent = { key: r.key, at: r.at, payload: JSON.parse(r.payload) as Record<string, unknown> };
        if (r.data) e.data = r.data;
        return e;
      }),
  };
}

/** Circuit-breaker rows and the model index. */
function registryPart(
  db: Database.Database,
  write: WriteGuard,
): Pick<Store, 'getCircuit' | 'putCircuit' | 'listCircuits' | 'putModel' | 'listModels'> {
  const s = {
    getCircuit: db.prepare('SELECT row FROM circuits WHERE name=?').pluck(),
    putCircuit: db.prepare(
      'INSERT INTO circuits (name, row) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET row=excluded.row',
    ),
    listCircuits: db.prepare('SELECT row FROM circuits ORDER BY name').pluck(),
    pageCircuits: db.prepare('SELECT row FROM circuits WHERE name > ? ORDER BY name LIMIT ?').pluck(),
    putModel: db.prepare('INSERT INTO models (id, row) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET row=excluded.row'),
    listModels: db.prepare('SELECT row FROM models').pluck(),
  };
  return {
    getCircuit: (name) => {
      const j = guard(() => s.getCircuit.get(name)) as string | undefined;
      return j === undefined ? undefined : (JSON.parse(j) as CircuitRow);
    },
    putCircuit: (row) => void write.run(() => s.putCircuit.run(row.name, JSON.stringify(row))),
    listCircuits: (page) =>
      guard(() =>
        (page ? s.pageCircuits.all(page.after ?? '', page.limit ?? -1) : s.listCircuits.all()).map(
          (j) => JSON.parse(j as string) as CircuitRow,
        ),
      ),
    putModel: (row) => void write.run(() => s.putModel.run(row.id, JSON.stringify(row))),
    listModels: () =>
      guard(() => s.listModels.all().map((j) => JSON.parse(j as string) as ModelIndexRow)).sort((a, b) =>
        a.created_at.localeCompare(b.created_at),
      ),
  };
}

/** Job locks with an expiry (training/scheduler.ts's), so a crashed holder does not block forever. */
function locksPart(db: Database.Database, write: WriteGuard): Pick<Store, 'tryLock' | 'unlock'> {
  const s = {
    lockTake: db.prepare(
      `INSERT INTO locks (name, owner, expires_ms) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires_ms=excluded.expires_ms
       WHERE locks.expires_ms < ? OR locks.owner = excluded.owner`,
    ),
    unlock: db.prepare('DELETE FROM locks WHERE name=? AND owner=?'),
  };
  return {
    tryLock: (name, owner, ttlMs) => {
      const now = Date.now();
      return write.run(() => s.lockTake.run(name, owner, now + ttlMs, now).changes) === 1;
    },
    unlock: (name, owner) => void write.run(() => s.unlock.run(name, owner)),
  };
}
