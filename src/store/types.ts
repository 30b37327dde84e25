import type { RunRecord } from '../records/schema.ts';

/**
 * The repository interface every caller uses. The SQLite implementation is the default; a PostgreSQL one
 * can implement the same interface without touching callers. All methods are synchronous in SQLite but the
 * interface keeps them plain so a networked store can wrap them behind a cache.
 */
export interface UpsertResult {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface ActorOutcomeRow {
  created_ms: number;
  completed_ms: number | null;
  run_id: string;
  run_attempt: number;
  conclusion: string | null;
}

export interface RunQuery {
  repo?: string;
  /** Only runs created strictly before this ISO instant. */
  until?: string;
  /** Only runs created at or after this ISO instant. */
  since?: string;
}

export interface CircuitRow {
  name: string;
  state: 'closed' | 'open' | 'half_open';
  consecutive_failures: number;
  opened_at: number | null;
  /** Epoch ms when a half-open trial was handed out (so only one runner gets it). */
  trial_at: number | null;
  updated_at: number;
}

export interface ModelIndexRow {
  id: string;
  kind: string;
  status: 'champion' | 'challenger' | 'rejected' | 'retired';
  created_at: string;
  metrics: Record<string, unknown>;
  data_range: { from: string | null; to: string | null; rows: number };
}

export interface AuditRow {
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

/** Identifies one run within a repo: (workflow, run_id, run_attempt). */
export type RunKey = readonly [workflow: string, runId: string, attempt: number];

export interface RunChanges {
  /** Repos with runs written by other connections since the given position. */
  repos: string[];
  /** Per repo in `repos`: the changed runs, or null when the write was too large to list them. */
  runs: ReadonlyMap<string, readonly RunKey[] | null>;
  /** The log position now; pass it to the next call. */
  seq: number;
  /** The log was pruned past the given position (or reset): treat every repo as changed. */
  truncated: boolean;
}

export interface LockHandle {
  name: string;
  owner: string;
  expires_at: number;
}

export interface StoredEvent {
  at: string;
  key: string;
  payload: Record<string, unknown>;
  data?: Uint8Array;
}

export interface Store {
  // Runs: keyed by (repo, workflow, run_id, run_attempt); a newer record for the same key replaces it.
  upsertRuns(records: RunRecord[]): UpsertResult;
  /** Runs in (repo, created_at, run_id, run_attempt) order. Streams; safe on millions of rows. */
  iterateRuns(q?: RunQuery): IterableIterator<RunRecord>;
  /** Most recent runs of a repo created before `beforeIso`, newest first (the serving-time history). */
  recentRuns(repo: string, beforeIso: string, limit: number): RunRecord[];
  /** Most recent runs of an actor (any repo or one repo) created before `beforeIso`, newest first. */
  recentRunsByActor(repo: string, actor: string, beforeIso: string, limit: number): RunRecord[];
  /** The same runs as `recentRunsByActor`, reduced to what an author's history needs (no record to parse). */
  recentOutcomesByActor(repo: string, actor: string, beforeIso: string, limit: number): ActorOutcomeRow[];
  countRuns(repo?: string): number;
  repos(): string[];
  getRun(repo: string, workflow: string, runId: string, attempt: number): RunRecord | undefined;

  // Small durable key/value state: ingestion cursors, ETags, settings.
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  deleteState(key: string): void;
  /** Up to `limit` state rows whose key starts with `prefix` and sorts after `after`, in key order. */
  scanState(prefix: string, after: string, limit: number): [key: string, value: string][];
  /**
   * Deletes the oldest events recorded before `beforeIso`, at most `limit` of them, in one transaction;
   * `done` once the oldest remaining event is newer (events are numbered in the order they were written).
   */
  pruneEvents(beforeIso: string, limit: number): { deleted: number; done: boolean };

  // Shared circuit-breaker state for the pipeline's dependencies.
  getCircuit(name: string): CircuitRow | undefined;
  putCircuit(row: CircuitRow): void;
  /** In name order; `after` and `limit` page through them (GET /v1/circuits). */
  listCircuits(page?: { after?: string; limit?: number }): CircuitRow[];

  // Model registry index (the artifacts themselves live in the models folder).
  putModel(row: ModelIndexRow): void;
  listModels(): ModelIndexRow[];

  // Audit log and canary decision log.
  appendAudit(row: AuditRow): void;
  listAudit(limit: number): AuditRow[];
  /** `data`: bytes kept beside the JSON payload (e.g. raw samples), returned as they were given. */
  appendEvent(kind: string, key: string, payload: Record<string, unknown>, data?: Uint8Array): void;
  listEvents(kind: string, opts?: { key?: string; limit?: number }): StoredEvent[];

  // Job locks with expiry so a crashed holder does not block forever.
  tryLock(name: string, owner: string, ttlMs: number): boolean;
  unlock(name: string, owner: string): void;

  /**
   * Called after every committed upsert with the repos it touched and the records it inserted or replaced
   * (in-process change feed for caches). An upsert inside `transaction()` is reported once the outermost
   * transaction commits, and not at all if its (save)point rolls back.
   */
  onRunsChanged(listener: (repos: ReadonlySet<string>, runs: readonly RunRecord[]) => void): () => void;
  /** Changes whenever another connection or process commits; lets caches notice out-of-process writes. */
  dataVersion(): number;
  /**
   * Run writes committed by *other* connections (other processes, or another store opened on the same file)
   * after change-log position `seq`: the repos they touched and, per repo, the keys of the runs changed
   * (null = too many to list; treat the whole repo as changed). Returns the position to pass next time.
   * `truncated` means the log no longer reaches back to `seq` (it is pruned to the last few thousand
   * upserts): anything may have changed. Pass 0 the first time (or use the returned `seq` as a start).
   * Writes by this connection are left out: they are reported by `onRunsChanged`.
   */
  changedReposSince(seq: number): RunChanges;
  /**
   * Whether other connections' commits show in `dataVersion` right now: false while a networked store's
   * notification channel is down (since when), so caches answering from memory can say they may be behind.
   * Absent: always (SQLite sees other connections' commits through the file itself).
   */
  changesVisible?(): { ok: boolean; since?: string };

  /**
   * Runs `fn` in one write transaction (all or nothing), begun IMMEDIATE so the write lock is taken (waiting
   * up to the busy timeout) before `fn` reads: a read-then-write can not fail on a lock upgrade. Nested calls
   * (and store methods that are transactions themselves) become savepoints of the outer transaction.
   */
  transaction<T>(fn: () => T): T;
  /** Cheap liveness probe of the storage itself. */
  ping(): boolean;
  /**
   * Whether the last write went through; `ok: false` (disk full, read-only…) until a write succeeds again.
   * Lock contention (SQLITE_BUSY/SQLITE_LOCKED after the busy timeout) fails that write with
   * StoreUnavailableError but does not count here: the storage can take writes, another writer held the lock.
   */
  writeStatus?(): { ok: boolean; error?: string; since?: string };
  close(): void;
}

/** Raised by a store when storage cannot accept writes (disk full, read-only); the API maps it to 503. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
