/**
 * The Store contract over PostgreSQL, for several replicas sharing one database (RISKGATE_DATABASE_URL).
 *
 * The contract is synchronous: every caller (the risk path, canary decisions, ingestion, training) was written
 * against SQLite, which answers in microseconds on the calling thread. Rather than turn ~40 call sites async,
 * each call here is handed to a worker thread running node-postgres (postgres-worker.ts) and this thread
 * blocks on a shared counter until the answer comes back (Atomics.wait, then receiveMessageOnPort). A call
 * costs one database round trip plus a thread hop; the risk path stays in memory because the live history's
 * only per-request question, "did another replica write runs?", is a shared counter the worker's LISTEN
 * connection bumps (dataVersion), not a query.
 *
 * Differences from the SQLite store, all inside the contract:
 * - Lock expiry (tryLock) is measured on the database's clock, so replicas with skewed clocks agree on it.
 * - A store call blocks its thread for at most the statement timeout (5 s, as SQLite's busy timeout); when the
 *   database is unreachable, calls fail with StoreUnavailableError at once for `retryMs` after a failed connect.
 * - PostgreSQL aborts a whole transaction on any error in it; transaction() then rolls back and rethrows, as
 *   SQLite does when `fn` throws. A caller catching a store error *inside* fn and carrying on is not supported.
 */
import { randomUUID } from 'node:crypto';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RunRecord } from '../records/schema.ts';
import { decKey, encKey } from './postgres-schema.ts';
import type { BatchArgs, QueryArgs, Reply, Request, UpsertArgs, WorkerInit } from './postgres-worker.ts';
import {
  StoreUnavailableError,
  type ActorOutcomeRow,
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

export interface PostgresStoreOptions {
  /** How long a connect may take before the call fails (ms). */
  connectTimeoutMs?: number;
  /** Server-side statement timeout (ms); a call never blocks longer than this plus a second or two. */
  statementTimeoutMs?: number;
  /** After a failed connect, calls fail at once for this long before the next attempt (ms). */
  retryMs?: number;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

/** Rows per INSERT statement of an upsert (each row is ~9 array elements). */
const UPSERT_CHUNK = 1000;
/** Rows per page of iterateRuns (keyset pagination: no cursor or transaction held open between pages). */
const PAGE = 2000;

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//i.test(url.trim());
}

/** The URL with its password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

interface Bridge {
  call<T>(op: Request['op'], a?: unknown, timeoutMs?: number): T;
  /** Calls made so far (each a thread hop and at least one round trip), for tests. */
  calls(): number;
  dataVersion(): number;
  listening(): boolean;
  close(): void;
}

function startBridge(url: string, o: Required<Omit<PostgresStoreOptions, 'migrate'>>, writer: string): Bridge {
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  let port: MessagePort;
  let worker: Worker;
  let dead = false;
  const spawn = () => {
    const ch = new MessageChannel();
    port = ch.port1;
    const init: WorkerInit & { riskgatePostgres: true } = {
      riskgatePostgres: true,
      url,
      port: ch.port2,
      ctl,
      writer,
      connectTimeoutMs: o.connectTimeoutMs,
      statementTimeoutMs: o.statementTimeoutMs,
      retryMs: o.retryMs,
    };
    // The worker registers the TypeScript loader itself (threads do not inherit it), so no execArgv.
    worker = new Worker(new URL('./postgres-worker.mjs', import.meta.url), {
      workerData: init,
      transferList: [ch.port2],
      execArgv: [],
    });
    dead = false;
    worker.on('error', () => undefined);
    worker.once('exit', () => (dead = true));
    worker.unref();
    port.unref();
  };
  spawn();
  let nextId = 0;
  let calls = 0;
  // The first call also waits for the worker to load node-postgres and the loader (~0.5 s on a busy machine).
  let firstCall = true;
  return {
    call<T>(op: Request['op'], a?: unknown, timeoutMs = o.statementTimeoutMs + o.connectTimeoutMs + 2000): T {
      if (dead) spawn();
      calls++;
      const id = ++nextId;
      let seen = Atomics.load(ctl, 0);
      port.postMessage({ id, op, a } satisfies Request);
      const deadline = Date.now() + timeoutMs + (firstCall ? 10_000 : 0);
      firstCall = false;
      for (;;) {
        const m = receiveMessageOnPort(port);
        if (m) {
          const r = m.message as Reply;
          if (r.id !== id) continue; // the late answer to a call that timed out
          if (r.ok) return r.value as T;
          const e = r.error!;
          if (e.unavailable)
            throw new StoreUnavailableError(
              `store unavailable (PostgreSQL: ${e.message})`,
              Object.assign(new Error(e.message), { code: e.code, contended: e.contended }),
            );
          throw Object.assign(new Error(`PostgreSQL: ${e.message}`), { code: e.code });
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          // The session may be stuck mid-statement; start the next call on a fresh one.
          if (op !== 'reset' && op !== 'close') port.postMessage({ id: ++nextId, op: 'reset' } satisfies Request);
          throw new StoreUnavailableError(
            `store unavailable (PostgreSQL did not answer within ${timeoutMs} ms)`,
            Object.assign(new Error('timeout'), { code: 'TIMEOUT' }),
          );
        }
        Atomics.wait(ctl, 0, seen, left);
        seen = Atomics.load(ctl, 0);
      }
    },
    calls: () => calls,
    dataVersion: () => Atomics.load(ctl, 1),
    listening: () => Atomics.load(ctl, 2) === 1,
    close: () => void worker.terminate().catch(() => undefined),
  };
}

/** The live bridge behind a store, for tests and health reporting. */
const LISTENING = new WeakMap<Store, () => boolean>();
const RAW = new WeakMap<Store, (text: string, values?: unknown[]) => Record<string, unknown>[]>();
/**
 * SQL on a PostgreSQL store's own session, synchronously (inside its transactions when called in one), for
 * the PostgreSQL-only parts (the shared model registry); undefined for any other store.
 */
export function postgresQuery(
  store: Store,
): ((text: string, values?: unknown[]) => Record<string, unknown>[]) | undefined {
  return RAW.get(store);
}
/** Runs SQL on the store's own session, synchronously (tests inject faults with it, as rawConnection does for SQLite). */
export function rawQuery(store: Store, text: string, values?: unknown[]): Record<string, unknown>[] {
  const q = RAW.get(store);
  if (!q) throw new Error('not a PostgreSQL store');
  return q(text, values);
}
const CALLS = new WeakMap<Store, () => number>();
/** How many calls the store has made to its worker thread (undefined for stores that are not PostgreSQL ones). */
export function bridgeCalls(store: Store): number | undefined {
  return CALLS.get(store)?.();
}
/** Whether the store's LISTEN connection is up (undefined for stores that are not PostgreSQL ones). */
export function listenerConnected(store: Store): boolean | undefined {
  return LISTENING.get(store)?.();
}

export function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Store {
  const o = {
    connectTimeoutMs: opts.connectTimeoutMs ?? 2000,
    statementTimeoutMs: opts.statementTimeoutMs ?? 5000,
    retryMs: opts.retryMs ?? 1000,
  };
  /** Tells this store's change-log rows and notifications from other stores' (see changedReposSince). */
  const writer = randomUUID();
  const bridge = startBridge(url, o, writer);
  /**
   * Inside a transaction, statements whose answer no one reads (BEGIN, SAVEPOINT, RELEASE, setState,
   * appendEvent…) wait here and go with the next call that needs an answer, in order, in one thread hop: a
   * canary decision (BEGIN, getState, setState, appendEvent, COMMIT) takes 2 hops instead of 5. A deferred
   * write's error surfaces on that later call, inside the same transaction, which then rolls back as a whole.
   */
  let queued: QueryArgs[] = [];
  /** Counts the calls that sent queued statements, so a transaction can tell whether its BEGIN went out. */
  let flushes = 0;
  const call = <T>(op: BatchArgs['op'], a: unknown): T => {
    if (queued.length === 0) return bridge.call<T>(op, a);
    const before = queued;
    queued = [];
    flushes++;
    return guardWrite(() => bridge.call<T>('batch', { before, op, a } satisfies BatchArgs), false);
  };
  type Res = { rows: Record<string, unknown>[]; rowCount: number; command: string };
  const q = (text: string, values?: unknown[], name?: string): Res =>
    call<Res>('q', { text, values, name } satisfies QueryArgs);
  const rowsOf = (text: string, values: unknown[], name: string): unknown[][] =>
    call<{ rows: unknown[][] }>('q', { text, values, name, array: true } satisfies QueryArgs).rows;
  /** A write whose answer is not needed: deferred inside a transaction, sent at once outside one. */
  const write = (text: string, values: unknown[], name: string): void => {
    // (bytes are copied: the caller may reuse its buffer before the statement is sent)
    if (txDepth > 0)
      queued.push({ text, values: values.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)), name });
    else guardWrite(() => q(text, values, name));
  };

  let writeFault: { error: string; since: string } | null = null;
  const guardWrite = <T>(fn: () => T, clears = true): T => {
    try {
      const out = fn();
      if (clears) writeFault = null;
      return out;
    } catch (err) {
      const cause = (err as { cause?: { message?: string; code?: string; contended?: boolean } }).cause;
      if (err instanceof StoreUnavailableError && !cause?.contended) {
        writeFault = {
          error: `${cause?.code ?? 'PG'}: ${cause?.message ?? err.message}`,
          since: writeFault?.since ?? new Date().toISOString(),
        };
      }
      throw err;
    }
  };

  if (opts.migrate !== false) {
    try {
      bridge.call('migrate', undefined, 60_000);
    } catch (err) {
      bridge.call('close', undefined, 2000);
      bridge.close();
      throw err;
    }
  }

  const listeners = new Set<(repos: ReadonlySet<string>, runs: readonly RunRecord[]) => void>();
  let listenerDownSince: string | null = null;
  /** The last change-log position this store wrote, and how often others' writes were found before ours. */
  let ownLogHi: number | null = null;
  let othersBeforeOwn = 0;
  let txDepth = 0;
  let pending: RunRecord[] = [];
  const notify = (runs: readonly RunRecord[]): void => {
    if (listeners.size === 0 || runs.length === 0) return;
    const repos = new Set(runs.map((r) => r.repo));
    for (const l of listeners) l(repos, runs);
  };

  const upsertRuns = (records: RunRecord[]): UpsertResult => {
    // Chunks in which no key repeats, so each is one INSERT … ON CONFLICT (which cannot touch a row twice);
    // a key given twice goes to the next chunk and is applied after, as SQLite applies records in order.
    const chunks: UpsertArgs['chunks'] = [];
    const log: UpsertArgs['log'] = [];
    let cols: unknown[][] = [];
    let keys: string[] = [];
    let logRows: UpsertArgs['log'][number] = [];
    let seen = new Set<string>();
    const flush = () => {
      if (keys.length === 0) return;
      chunks.push({ cols, keys });
      log.push(logRows);
      cols = [[], [], [], [], [], [], [], [], []];
      keys = [];
      logRows = [];
      seen = new Set();
    };
    cols = [[], [], [], [], [], [], [], [], []];
    for (const r of records) {
      const k = `${encKey(r.repo)}\u0000${encKey(r.workflow)}\u0000${encKey(r.run_id)}\u0000${r.run_attempt}`;
      if (seen.has(k) || keys.length >= UPSERT_CHUNK) flush();
      seen.add(k);
      keys.push(k);
      logRows.push([r.repo, r.workflow, r.run_id, r.run_attempt]);
      const row = [
        encKey(r.repo),
        encKey(r.workflow),
        encKey(r.run_id),
        r.run_attempt,
        Date.parse(r.created_at),
        r.completed_at == null ? null : Date.parse(r.completed_at),
        encKey(r.actor ?? null),
        r.conclusion ?? null,
        JSON.stringify(r),
      ];
      for (let j = 0; j < 9; j++) cols[j].push(row[j]);
    }
    flush();
    if (chunks.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
    const res = guardWrite(() =>
      call<{ inserted: number[]; updated: number[]; log: [number, number] | null }>('upsert', {
        chunks,
        log,
      } satisfies UpsertArgs),
    );
    if (res.log) {
      // Log positions commit in order, so a gap before ours means other writers committed since our last
      // write; their notification may still be on its way. Saying so through dataVersion now lets a cache
      // fold their runs before ours (they were most likely created first) instead of rebuilding the repo.
      if (ownLogHi === null || res.log[0] > ownLogHi + 1) othersBeforeOwn++;
      ownLogHi = res.log[1];
    }
    const changed = [...res.inserted, ...res.updated].sort((a, b) => a - b).map((i) => records[i]);
    if (txDepth > 0) pending.push(...changed);
    else notify(changed);
    return { inserted: res.inserted.length, updated: res.updated.length, unchanged: records.length - changed.length };
  };

  const transaction = <T>(fn: () => T): T => {
    const mark = pending.length;
    const outer = txDepth === 0;
    const sp = `riskgate_sp${txDepth}`;
    // BEGIN or SAVEPOINT waits for the transaction's first call that needs an answer (see `queued`).
    const at = queued.length;
    const flushesAt = flushes;
    queued.push({ text: outer ? 'BEGIN' : `SAVEPOINT ${sp}`, tx: outer ? 'begin' : undefined });
    txDepth++;
    let out: T;
    try {
      out = fn();
    } catch (err) {
      txDepth--;
      pending.length = mark;
      if (flushes === flushesAt) {
        // Nothing since BEGIN/SAVEPOINT reached the database: forgetting it is the rollback.
        queued.length = at;
        throw err;
      }
      // The savepoint went out, so whatever is still queued came after it: dropped, then rolled back.
      queued = [];
      try {
        bridge.call('q', {
          text: outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${sp}`,
          tx: outer ? 'end' : undefined,
        } satisfies QueryArgs);
        if (!outer) bridge.call('q', { text: `RELEASE SAVEPOINT ${sp}` } satisfies QueryArgs);
      } catch {
        // the transaction is gone with its connection; the caller sees the first error
      }
      throw err;
    }
    txDepth--;
    if (flushes === flushesAt && queued.length === at + 1) {
      // An empty transaction (or savepoint): it never reached the database.
      queued.length = at;
    } else if (!outer) {
      queued.push({ text: `RELEASE SAVEPOINT ${sp}` });
    } else
      try {
        const done = guardWrite(() => call<Res>('q', { text: 'COMMIT', tx: 'end' } satisfies QueryArgs), false);
        // COMMIT of a transaction an error aborted answers ROLLBACK instead of failing.
        if (done.command !== 'COMMIT') throw new Error(`transaction was rolled back (${done.command})`);
      } catch (err) {
        pending.length = mark;
        queued = [];
        if (outer) {
          try {
            bridge.call('q', { text: 'ROLLBACK', tx: 'end' } satisfies QueryArgs);
          } catch {
            // nothing left to roll back
          }
        }
        throw err;
      }
    if (outer && pending.length > 0) {
      const runs = pending;
      pending = [];
      notify(runs);
    }
    return out;
  };

  const parseRecords = (rows: unknown[][]): RunRecord[] => rows.map((r) => JSON.parse(r[0] as string) as RunRecord);
  const ORDER = 'ORDER BY created_ms DESC, run_id DESC, run_attempt DESC';

  const store: Store = {
    upsertRuns,
    *iterateRuns(q: RunQuery = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.repo) where.push(`repo = $${args.push(q.repo)}`);
      if (q.since) where.push(`created_ms >= $${args.push(Date.parse(q.since))}`);
      if (q.until) where.push(`created_ms < $${args.push(Date.parse(q.until))}`);
      const n = args.length;
      const first = `SELECT record, repo, created_ms, run_id, run_attempt, workflow FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY repo, created_ms, run_id, run_attempt, workflow LIMIT ${PAGE}`;
      const next = `SELECT record, repo, created_ms, run_id, run_attempt, workflow FROM runs
        WHERE ${[...where, `(repo, created_ms, run_id, run_attempt, workflow) > ($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`].join(' AND ')}
        ORDER BY repo, created_ms, run_id, run_attempt, workflow LIMIT ${PAGE}`;
      let rows = rowsOf(first, args, '');
      for (;;) {
        for (const r of rows) yield JSON.parse(r[0] as string) as RunRecord;
        if (rows.length < PAGE) return;
        const last = rows[rows.length - 1];
        rows = rowsOf(next, [...args, last[1], last[2], last[3], last[4], last[5]], '');
      }
    },
    recentRuns: (repo, beforeIso, limit) =>
      parseRecords(
        rowsOf(
          `SELECT record FROM runs WHERE repo=$1 AND created_ms<$2 ${ORDER} LIMIT $3`,
          [repo, Date.parse(beforeIso), limit],
          'rg_recent',
        ),
      ),
    recentRunsByActor: (repo, actor, beforeIso, limit) =>
      parseRecords(
        rowsOf(
          `SELECT record FROM runs WHERE repo=$1 AND actor=$2 AND created_ms<$3 ${ORDER} LIMIT $4`,
          [repo, encKey(actor), Date.parse(beforeIso), limit],
          'rg_recent_actor',
        ),
      ),
    recentOutcomesByActor: (repo, actor, beforeIso, limit) =>
      rowsOf(
        `SELECT created_ms, completed_ms, run_id, run_attempt, conclusion FROM runs WHERE repo=$1 AND actor=$2 AND created_ms<$3 ${ORDER} LIMIT $4`,
        [repo, encKey(actor), Date.parse(beforeIso), limit],
        'rg_outcomes_actor',
      ).map(([created_ms, completed_ms, run_id, run_attempt, conclusion]): ActorOutcomeRow => ({
        created_ms: created_ms as number,
        completed_ms: completed_ms as number | null,
        run_id: decKey(run_id as string),
        run_attempt: run_attempt as number,
        conclusion: conclusion as string | null,
      })),
    countRuns: (repo) =>
      (repo
        ? rowsOf('SELECT count(*) FROM runs WHERE repo=$1', [repo], 'rg_count_repo')
        : rowsOf('SELECT count(*) FROM runs', [], 'rg_count'))[0][0] as number,
    repos: () =>
      rowsOf('SELECT DISTINCT repo FROM runs ORDER BY repo', [], 'rg_repos').map((r) => decKey(r[0] as string)),
    getRun: (repo, workflow, runId, attempt) => {
      const rows = rowsOf(
        'SELECT record FROM runs WHERE repo=$1 AND workflow=$2 AND run_id=$3 AND run_attempt=$4',
        [encKey(repo), encKey(workflow), encKey(runId), attempt],
        'rg_get_run',
      );
      return rows.length ? (JSON.parse(rows[0][0] as string) as RunRecord) : undefined;
    },

    getState: (key) => {
      const v = rowsOf('SELECT value FROM state WHERE key=$1', [encKey(key)], 'rg_get_state')[0]?.[0] as
        string | undefined;
      return v === undefined ? undefined : decKey(v);
    },
    setState: (key, value) =>
      write(
        'INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value=excluded.value',
        [encKey(key), encKey(value)],
        'rg_set_state',
      ),
    deleteState: (key) => write('DELETE FROM state WHERE key=$1', [encKey(key)], 'rg_del_state'),
    // The same key range as the SQLite store: from where the last page ended to the prefix's last character
    // plus one. Keys are compared as escaped (encKey keeps the order of strings without lone surrogates).
    scanState: (prefix, after, limit) => {
      const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      return rowsOf(
        'SELECT key, value FROM state WHERE key > $1 AND key < $2 ORDER BY key LIMIT $3',
        [encKey(after < prefix ? prefix : after), encKey(end), limit],
        'rg_scan_state',
      ).map(([k, v]): [string, string] => [decKey(k as string), decKey(v as string)]);
    },
    // One statement, so one transaction: the oldest `limit` events, cut at the first one recorded at or after
    // the horizon; everything before that cut is deleted.
    pruneEvents: (beforeIso, limit) =>
      guardWrite(() => {
        const [row] = rowsOf(
          `WITH old AS (SELECT seq, at FROM events ORDER BY seq LIMIT $2),
                firstnew AS (SELECT min(seq) AS s FROM old WHERE at >= $1),
                cut AS (SELECT max(seq) AS s FROM old WHERE (SELECT s FROM firstnew) IS NULL OR seq < (SELECT s FROM firstnew)),
                del AS (DELETE FROM events WHERE seq <= (SELECT s FROM cut) RETURNING 1)
           SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM old), (SELECT s FROM firstnew)`,
          [beforeIso, limit],
          'rg_prune_events',
        );
        const [deleted, seen, firstNew] = row;
        return { deleted: Number(deleted), done: firstNew !== null || Number(seen) < limit };
      }),

    getCircuit: (name) => {
      const j = rowsOf('SELECT row FROM circuits WHERE name=$1', [encKey(name)], 'rg_get_circuit')[0]?.[0] as
        string | undefined;
      return j === undefined ? undefined : (JSON.parse(j) as CircuitRow);
    },
    putCircuit: (row) =>
      write(
        'INSERT INTO circuits (name, row) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET row=excluded.row',
        [encKey(row.name), JSON.stringify(row)],
        'rg_put_circuit',
      ),
    listCircuits: () =>
      rowsOf('SELECT row FROM circuits ORDER BY name', [], 'rg_list_circuits').map(
        (r) => JSON.parse(r[0] as string) as CircuitRow,
      ),

    putModel: (row) =>
      write(
        'INSERT INTO models (id, row) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET row=excluded.row',
        [encKey(row.id), JSON.stringify(row)],
        'rg_put_model',
      ),
    listModels: () =>
      rowsOf('SELECT row FROM models', [], 'rg_list_models')
        .map((r) => JSON.parse(r[0] as string) as ModelIndexRow)
        .sort((a, b) => a.created_at.localeCompare(b.created_at)),

    appendAudit: (row) =>
      write('INSERT INTO audit (at, row) VALUES ($1, $2)', [row.at, JSON.stringify(row)], 'rg_append_audit'),
    listAudit: (limit) =>
      rowsOf('SELECT row FROM audit ORDER BY seq DESC LIMIT $1', [limit], 'rg_list_audit').map(
        (r) => JSON.parse(r[0] as string) as AuditRow,
      ),
    appendEvent: (kind, key, payload, data) =>
      write(
        'INSERT INTO events (kind, key, at, payload, data) VALUES ($1, $2, $3, $4, $5)',
        [
          encKey(kind),
          encKey(key),
          new Date().toISOString(),
          JSON.stringify(payload),
          data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : null,
        ],
        'rg_append_event',
      ),
    listEvents: (kind, opts = {}) =>
      (opts.key
        ? rowsOf(
            'SELECT key, at, payload, data FROM events WHERE kind=$1 AND key=$2 ORDER BY seq DESC LIMIT $3',
            [encKey(kind), encKey(opts.key), opts.limit ?? 100],
            'rg_events_key',
          )
        : rowsOf(
            'SELECT key, at, payload, data FROM events WHERE kind=$1 ORDER BY seq DESC LIMIT $2',
            [encKey(kind), opts.limit ?? 100],
            'rg_events',
          )
      ).map(([key, at, payload, data]) => {
        const e: StoredEvent = {
          key: decKey(key as string),
          at: at as string,
          payload: JSON.parse(payload as string) as Record<string, unknown>,
        };
        // Buffers arrive from the worker as plain Uint8Arrays; hand out Buffers, as the SQLite store does.
        if (data)
          e.data = Buffer.from(
            (data as Uint8Array).buffer,
            (data as Uint8Array).byteOffset,
            (data as Uint8Array).byteLength,
          );
        return e;
      }),

    tryLock: (name, owner, ttlMs) =>
      guardWrite(() =>
        q(
          `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
           INSERT INTO locks AS l (name, owner, expires_ms) SELECT $1, $2, now.ms + $3 FROM now
           ON CONFLICT (name) DO UPDATE SET owner=excluded.owner, expires_ms=excluded.expires_ms
           WHERE l.expires_ms < (SELECT ms FROM now) OR l.owner = excluded.owner`,
          [encKey(name), owner, Math.round(ttlMs)],
          'rg_try_lock',
        ),
      ).rowCount === 1,
    unlock: (name, owner) =>
      void guardWrite(() => q('DELETE FROM locks WHERE name=$1 AND owner=$2', [encKey(name), owner], 'rg_unlock')),

    onRunsChanged: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    dataVersion: () => bridge.dataVersion() + othersBeforeOwn,
    changesVisible: () => {
      if (bridge.listening()) {
        listenerDownSince = null;
        return { ok: true };
      }
      listenerDownSince ??= new Date().toISOString();
      return { ok: false, since: listenerDownSince };
    },
    changedReposSince: (since) => {
      const r = call<{ lo: number | null; hi: number | null; rows: [string, string | null][] }>('changes', since);
      const seq = r.hi ?? 0;
      // Positions commit in order (see postgres-worker.ts), so as in SQLite the log covers `since` iff its
      // oldest row is at most since+1; a position past the newest means the database was reset.
      const truncated = since > seq || (r.lo !== null && r.lo > since + 1);
      const runs = new Map<string, RunKey[] | null>();
      for (const [repo, keys] of r.rows) {
        const had = runs.get(repo);
        if (had === null) continue;
        if (keys === null) runs.set(repo, null);
        else runs.set(repo, [...(had ?? []), ...(JSON.parse(keys) as RunKey[])]);
      }
      return { repos: [...runs.keys()], runs, seq, truncated } satisfies RunChanges;
    },
    transaction,
    ping: () => {
      try {
        return (rowsOf('SELECT 1', [], 'rg_ping')[0]?.[0] as number) === 1;
      } catch {
        return false;
      }
    },
    writeStatus: () => (writeFault ? { ok: false, ...writeFault } : { ok: true }),
    close: () => {
      try {
        bridge.call('close', undefined, 3000);
      } catch {
        // closing anyway
      }
      bridge.close();
    },
  };
  LISTENING.set(store, () => bridge.listening());
  CALLS.set(store, () => bridge.calls());
  RAW.set(store, (text, values) => q(text, values).rows);
  return store;
}
