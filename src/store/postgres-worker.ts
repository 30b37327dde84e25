/**
 * The thread that talks to PostgreSQL for a PostgresStore (postgres.ts). The Store contract is synchronous
 * (SQLite answers in microseconds and every caller relies on that), so the store's thread posts one request
 * here and blocks on a shared counter until the answer is posted back; this thread keeps its own event loop
 * for node-postgres. It holds two connections:
 * - the session: every store call, in order, so a store transaction is one PostgreSQL transaction;
 * - the listener: LISTEN on the runs channel; each other writer's notification, and every (re)connect,
 *   bumps the shared data version, which is what the live history polls (no round trip on the risk path).
 *
 * After a failed connect the session refuses to reconnect for `retryMs`, so a store whose database is down
 * fails each call at once instead of blocking its caller's thread for a connect timeout every time.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { LOCK_KEYS, PG_MIGRATIONS, RUNS_CHANNEL } from './postgres-schema.ts';

export interface WorkerInit {
  url: string;
  port: MessagePort;
  /** [0] answers posted, [1] data version (other writers' commits seen), [2] listener connected (1/0). */
  ctl: Int32Array;
  writer: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  retryMs: number;
}

export interface Request {
  id: number;
  op: 'q' | 'upsert' | 'changes' | 'migrate' | 'reset' | 'close' | 'batch';
  a?: unknown;
}
/**
 * Statements of an open transaction whose answers no one reads (BEGIN, SAVEPOINT, writes that return nothing),
 * run in order before the call that needs an answer: one thread hop for all of them instead of one each.
 */
export interface BatchArgs {
  before: QueryArgs[];
  op: 'q' | 'upsert' | 'changes';
  a?: unknown;
}
export interface QueryArgs {
  text: string;
  values?: unknown[];
  /** Prepared once per connection under this name. */
  name?: string;
  /** 'begin' opens the session's transaction, 'end' closes it (COMMIT/ROLLBACK). */
  tx?: 'begin' | 'end';
  array?: boolean;
}
export interface UpsertArgs {
  /** Chunks with no key twice (one INSERT … ON CONFLICT each), columns already escaped (encKey). */
  chunks: { cols: unknown[][]; keys: string[] }[];
  /** Per chunk row: the change-log entry [repo, workflow, run_id, attempt] (unescaped, it goes into JSON). */
  log: [string, string, string, number][][];
}
export interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { message: string; code?: string; unavailable: boolean; contended: boolean };
}

/** Change-log rows kept (as in the SQLite store); readers further behind see `truncated`. */
export const CHANGE_LOG_KEEP = 5000;
/** A write touching more runs of one repo than this logs the repo alone. */
export const CHANGE_LOG_MAX_KEYS = 64;

const UPSERT = `
  INSERT INTO runs AS r (repo, workflow, run_id, run_attempt, created_ms, completed_ms, actor, conclusion, record)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
  ON CONFLICT (repo, workflow, run_id, run_attempt) DO UPDATE SET
    created_ms = excluded.created_ms, completed_ms = excluded.completed_ms, actor = excluded.actor,
    conclusion = excluded.conclusion, record = excluded.record
  -- unchanged, or a completed record that a still-running copy of the same attempt must not replace
  WHERE r.record <> excluded.record AND (r.conclusion IS NULL OR excluded.conclusion IS NOT NULL)
  RETURNING repo, workflow, run_id, run_attempt, (xmax = 0) AS inserted`;

const CHANGES = `
  SELECT (SELECT min(seq) FROM run_changes) AS lo, (SELECT max(seq) FROM run_changes) AS hi,
    (SELECT coalesce(json_agg(json_build_array(repo, runs) ORDER BY seq), '[]'::json) FROM run_changes WHERE seq > $1 AND writer <> $2) AS rows`;

/** int8 as a JS number (times in ms and sequence numbers stay far below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as never,
};

const CONTENDED = new Set(['40001', '40P01', '55P03']);
function classify(err: unknown): { unavailable: boolean; contended: boolean } {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONTENDED.has(code)) return { unavailable: true, contended: true };
    // connection exception, insufficient resources, operator intervention (shutdown, statement timeout),
    // system error, read-only transaction, and Node's socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT…)
    if (/^(08|53|57|58)/.test(code) || code === '25006' || /^E[A-Z]+$/.test(code))
      return { unavailable: true, contended: false };
  }
  const msg = String((err as Error)?.message ?? err);
  const lost =
    /Connection terminated|connection timeout|timeout expired|Query read timeout|connection error|not queryable|Client was closed|session (down|lost)/i.test(
      msg,
    );
  return { unavailable: lost, contended: false };
}

export function run(init: WorkerInit): void {
  const { url, port, ctl, writer } = init;
  // Named per role, so operators (and tests) can tell the LISTEN connection from the session in pg_stat_activity.
  const options = (role = 'riskgate'): pg.ClientConfig => ({
    connectionString: url,
    connectionTimeoutMillis: init.connectTimeoutMs,
    statement_timeout: init.statementTimeoutMs,
    query_timeout: init.statementTimeoutMs + 1000,
    keepAlive: true,
    application_name: role,
    types,
  });

  // ---- session ----
  let session: pg.Client | null = null;
  let generation = 0;
  /** The generation whose transaction is open: a reconnect inside it must not run the rest in autocommit. */
  let txGeneration: number | null = null;
  let downUntil = 0;
  let lastError = '';

  const dropSession = (c: pg.Client | null) => {
    if (c && session === c) session = null;
    c?.end().catch(() => undefined);
  };
  async function client(): Promise<pg.Client> {
    if (session) return session;
    if (Date.now() < downUntil)
      throw Object.assign(new Error(`session down: PostgreSQL unreachable (${lastError})`), { code: '08006' });
    const c = new pg.Client(options());
    c.on('error', () => dropSession(c));
    c.on('end', () => dropSession(c));
    try {
      await c.connect();
    } catch (err) {
      downUntil = Date.now() + init.retryMs;
      lastError = String((err as Error).message ?? err);
      c.end().catch(() => undefined);
      throw err;
    }
    session = c;
    generation++;
    return c;
  }
  async function sessionFor(): Promise<pg.Client> {
    if (txGeneration !== null && (session === null || generation !== txGeneration)) {
      throw Object.assign(new Error('session lost inside a transaction'), { code: '08003' });
    }
    return client();
  }

  async function query(a: QueryArgs): Promise<unknown> {
    if (a.tx === 'end') {
      // COMMIT/ROLLBACK: on a lost session there is nothing to end (the server rolled it back).
      const same = txGeneration !== null && session !== null && generation === txGeneration;
      txGeneration = null;
      if (!same) {
        if (/^ROLLBACK/i.test(a.text)) return { rows: [], command: 'ROLLBACK' };
        throw Object.assign(new Error('session lost inside a transaction'), { code: '08003' });
      }
    }
    const c = await sessionFor();
    const res: pg.QueryResult = a.array
      ? await c.query({ text: a.text, values: a.values, name: a.name || undefined, rowMode: 'array' })
      : await c.query({ text: a.text, values: a.values, name: a.name || undefined });
    if (a.tx === 'begin') txGeneration = generation;
    return { rows: res.rows, rowCount: res.rowCount, command: res.command };
  }

  async function upsert(
    a: UpsertArgs,
  ): Promise<{ inserted: number[]; updated: number[]; log: [number, number] | null }> {
    const c = await sessionFor();
    const own = txGeneration === null;
    await c.query(own ? 'BEGIN' : 'SAVEPOINT riskgate_upsert');
    try {
      const inserted: number[] = [];
      const updated: number[] = [];
      const byRepo = new Map<string, [string, string, number][]>();
      let logged: [number, number] | null = null;
      let base = 0;
      for (let ci = 0; ci < a.chunks.length; ci++) {
        const chunk = a.chunks[ci];
        const res = await c.query({ name: 'riskgate_upsert', text: UPSERT, values: chunk.cols });
        if (res.rows.length > 0) {
          const at = new Map(chunk.keys.map((k, i) => [k, i]));
          for (const row of res.rows as {
            repo: string;
            workflow: string;
            run_id: string;
            run_attempt: number;
            inserted: boolean;
          }[]) {
            const i = at.get(`${row.repo}\u0000${row.workflow}\u0000${row.run_id}\u0000${row.run_attempt}`);
            if (i === undefined) throw new Error('upsert returned a row it was not given');
            (row.inserted ? inserted : updated).push(base + i);
            const [repo, wf, id, att] = a.log[ci][i];
            let keys = byRepo.get(repo);
            if (!keys) byRepo.set(repo, (keys = []));
            keys.push([wf, id, att]);
          }
        }
        base += chunk.keys.length;
      }
      if (byRepo.size > 0) {
        // Log positions must become visible in order, or a reader could pass a position whose transaction
        // commits later and never see it. nextval alone does not give that (sequences are handed out at
        // insert, commits land in any order); taking this lock first and holding it to commit does: runs are
        // written concurrently, only the log insert and the commit are serialised.
        await c.query({
          name: 'riskgate_runlog_lock',
          text: 'SELECT pg_advisory_xact_lock($1)',
          values: [LOCK_KEYS.runLog.toString()],
        });
        const repos = [...byRepo.keys()];
        const runs = repos.map((r) => {
          const keys = byRepo.get(r)!;
          return keys.length > CHANGE_LOG_MAX_KEYS ? null : JSON.stringify(keys);
        });
        const res = await c.query({
          name: 'riskgate_runlog_add',
          text: `INSERT INTO run_changes (seq, repo, writer, runs) SELECT nextval('run_changes_seq'), t.repo, $2, t.runs FROM unnest($1::text[], $3::text[]) AS t(repo, runs) RETURNING seq`,
          values: [repos, writer, runs],
        });
        const seqs = (res.rows as { seq: number }[]).map((r) => r.seq);
        const lo = Math.min(...seqs);
        const hi = Math.max(...seqs);
        logged = [lo, hi];
        if (hi > CHANGE_LOG_KEEP && Math.floor(hi / 256) !== Math.floor((lo - 1) / 256)) {
          await c.query({
            name: 'riskgate_runlog_prune',
            text: 'DELETE FROM run_changes WHERE seq <= $1',
            values: [hi - CHANGE_LOG_KEEP],
          });
        }
        await c.query({ name: 'riskgate_notify', text: 'SELECT pg_notify($1, $2)', values: [RUNS_CHANNEL, writer] });
      }
      const done = await c.query(own ? 'COMMIT' : 'RELEASE SAVEPOINT riskgate_upsert');
      if (own && done.command !== 'COMMIT') throw new Error(`upsert transaction ended with ${done.command}`);
      return { inserted, updated, log: logged };
    } catch (err) {
      if (session === c) {
        if (own) await c.query('ROLLBACK').catch(() => undefined);
        else
          await c
            .query('ROLLBACK TO SAVEPOINT riskgate_upsert; RELEASE SAVEPOINT riskgate_upsert')
            .catch(() => undefined);
      }
      throw err;
    }
  }

  async function changes(since: number): Promise<unknown> {
    const c = await sessionFor();
    const res = await c.query({ name: 'riskgate_changes', text: CHANGES, values: [since, writer] });
    return res.rows[0];
  }

  async function migrate(): Promise<number> {
    const c = await sessionFor();
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEYS.migrate.toString()]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS riskgate_schema (version integer NOT NULL)');
      const got = await c.query('SELECT version FROM riskgate_schema');
      let v = got.rows.length ? (got.rows[0] as { version: number }).version : -1;
      if (v < 0) {
        await c.query('INSERT INTO riskgate_schema (version) VALUES (0)');
        v = 0;
      }
      while (v < PG_MIGRATIONS.length) {
        await c.query('BEGIN');
        try {
          await c.query(PG_MIGRATIONS[v]);
          await c.query('UPDATE riskgate_schema SET version = $1', [v + 1]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        v++;
      }
      return v;
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.migrate.toString()]).catch(() => dropSession(c));
    }
  }

  // ---- listener ----
  let listener: pg.Client | null = null;
  let closing = false;
  let listenTimer: NodeJS.Timeout | null = null;
  const bump = () => Atomics.add(ctl, 1, 1);
  const dropListener = (c: pg.Client) => {
    if (listener !== c) return;
    listener = null;
    Atomics.store(ctl, 2, 0);
    c.end().catch(() => undefined);
    scheduleListen(init.retryMs);
  };
  const scheduleListen = (ms: number) => {
    if (closing || listenTimer) return;
    listenTimer = setTimeout(() => {
      listenTimer = null;
      void listen();
    }, ms);
  };
  async function listen(): Promise<void> {
    if (closing || listener) return;
    const c = new pg.Client(options('riskgate-listen'));
    c.on('notification', (m) => {
      if (m.payload !== writer) bump();
    });
    c.on('error', () => dropListener(c));
    c.on('end', () => dropListener(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${RUNS_CHANNEL}`);
    } catch {
      c.end().catch(() => undefined);
      scheduleListen(init.retryMs);
      return;
    }
    if (closing) return void c.end().catch(() => undefined);
    listener = c;
    // Whatever was written while no one listened is read from the change log on the next check; the bump
    // comes before the flag, so a reader that sees the flag up has also seen the bump.
    bump();
    Atomics.store(ctl, 2, 1);
  }
  // A half-open connection delivers nothing and reports nothing: probe it, so it is replaced within seconds.
  // The probe waits 15 s, not the statement timeout: on a starved machine a slow answer is not a dead
  // connection, and every needless reconnect marks the replica's answers degraded for a second.
  const probe = setInterval(() => {
    const c = listener;
    if (c) c.query({ text: 'SELECT 1', query_timeout: 15_000 } as pg.QueryConfig).catch(() => dropListener(c));
  }, 2000);
  void listen();

  const answer = (op: BatchArgs['op'], a: unknown): Promise<unknown> =>
    op === 'q' ? query(a as QueryArgs) : op === 'upsert' ? upsert(a as UpsertArgs) : changes(a as number);

  // ---- requests, one at a time in arrival order ----
  let chain = Promise.resolve();
  const reply = (r: Reply) => {
    port.postMessage(r);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  };
  port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      try {
        let value: unknown;
        switch (req.op) {
          case 'q':
          case 'upsert':
          case 'changes':
            value = await answer(req.op, req.a);
            break;
          case 'batch': {
            const b = req.a as BatchArgs;
            for (const q of b.before) await query(q);
            value = await answer(b.op, b.a);
            break;
          }
          case 'migrate':
            value = await migrate();
            break;
          case 'reset':
            txGeneration = null;
            dropSession(session);
            break;
          case 'close':
            closing = true;
            clearInterval(probe);
            if (listenTimer) clearTimeout(listenTimer);
            await Promise.allSettled([session?.end(), listener?.end()]);
            session = null;
            listener = null;
            break;
        }
        reply({ id: req.id, ok: true, value });
        if (req.op === 'close') port.close();
      } catch (err) {
        const kind = classify(err);
        if (kind.unavailable && !kind.contended && session) {
          // A connection-level failure: the next call starts over on a fresh connection.
          if (txGeneration === null) dropSession(session);
        }
        reply({
          id: req.id,
          ok: false,
          error: { message: String((err as Error)?.message ?? err), code: (err as { code?: string }).code, ...kind },
        });
      }
    });
  });
}

if (workerData && (workerData as { riskgatePostgres?: boolean }).riskgatePostgres) run(workerData as WorkerInit);
