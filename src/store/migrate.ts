/**
 * Copies an SQLite store (and a registry folder) into a PostgreSQL store: runs, state (rollouts, cursors,
 * trial settings), circuits, the model index, the audit log, events (decisions, outcomes, job runs, risk
 * log) and the registry's versions and champion pointer. Re-running it changes nothing: runs and keyed rows
 * are upserts with the same values, audit and event rows keep their SQLite sequence numbers and are
 * inserted only when absent. Afterwards both sides are counted and hashed, table by table.
 *
 * Locks and the run change log are not copied: they describe live processes, not data.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { RunRecord } from '../records/schema.ts';
import { startRegistrySync } from '../registry/db-sync.ts';
import { decKey, encKey } from './postgres-schema.ts';
import { postgresQuery } from './postgres.ts';
import type { Store } from './types.ts';

/** The SQLite tables this copies; any other table found is reported as not copied. */
const COPIED = ['runs', 'state', 'circuits', 'models', 'audit', 'events'] as const;
const SKIPPED = new Set(['locks', 'run_changes', 'sqlite_sequence']);
const BATCH = 2000;

export interface TableReport {
  table: string;
  source: number;
  target: number;
  sourceHash: string;
  targetHash: string;
  equal: boolean;
}
export interface MigrateReport {
  tables: TableReport[];
  /** SQLite tables not copied (unknown to this version). */
  notCopied: string[];
  registry: { pushed: number; champion: string | null } | null;
  equal: boolean;
}

/**
 * An order-independent digest of a multiset of rows: the sum (mod 2^64) of each row's sha256 prefix, so both
 * sides can be hashed in whatever order they stream, without holding the rows.
 */
class MultisetHash {
  private sum = 0n;
  count = 0;
  add(...parts: (string | number | Uint8Array | null)[]): void {
    const h = createHash('sha256');
    for (const p of parts) {
      if (p === null) h.update('\u0000N');
      else if (typeof p === 'number') h.update(`\u0000n${p}`);
      else if (typeof p === 'string') h.update('\u0000s' + p);
      else {
        h.update('\u0000b');
        h.update(p);
      }
    }
    this.sum = (this.sum + h.digest().readBigUInt64BE(0)) & 0xffffffffffffffffn;
    this.count++;
  }
  hex(): string {
    return this.sum.toString(16).padStart(16, '0');
  }
}

export function migrateSqliteToPostgres(o: {
  sqliteFile: string;
  target: Store;
  modelsDir?: string;
  onProgress?: (m: string) => void;
}): MigrateReport {
  const sql = postgresQuery(o.target);
  if (!sql) throw new Error('the target is not a PostgreSQL store');
  const src = new Database(o.sqliteFile, { readonly: true, fileMustExist: true });
  try {
    const tables = (
      src.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]
    ).sort();
    const notCopied = tables.filter((t) => !(COPIED as readonly string[]).includes(t) && !SKIPPED.has(t));
    const has = (t: string) => tables.includes(t);

    // runs, through the store's upsert (the change log and notifications tell running replicas)
    if (has('runs')) {
      let batch: RunRecord[] = [];
      let n = 0;
      for (const j of src.prepare('SELECT record FROM runs').pluck().iterate() as IterableIterator<string>) {
        batch.push(JSON.parse(j) as RunRecord);
        if (batch.length === BATCH) {
          o.target.upsertRuns(batch);
          n += batch.length;
          batch = [];
          o.onProgress?.(`runs: ${n.toLocaleString()}`);
        }
      }
      if (batch.length) o.target.upsertRuns(batch);
    }
    const keyed = (table: string, keyCol: string, valCol: string, encValue: boolean) => {
      if (!has(table)) return;
      for (const [k, v] of src.prepare(`SELECT ${keyCol}, ${valCol} FROM ${table}`).raw().iterate() as IterableIterator<
        [string, string]
      >) {
        sql(
          `INSERT INTO ${table} (${keyCol}, ${valCol}) VALUES ($1, $2) ON CONFLICT (${keyCol}) DO UPDATE SET ${valCol} = excluded.${valCol}`,
          [encKey(k), encValue ? encKey(v) : v],
        );
      }
    };
    o.target.transaction(() => {
      keyed('state', 'key', 'value', true);
      keyed('circuits', 'name', 'row', false);
      keyed('models', 'id', 'row', false);
    });
    const sequenced = (table: 'audit' | 'events') => {
      if (!has(table)) return;
      const cols = table === 'audit' ? ['seq', 'at', 'row'] : ['seq', 'kind', 'key', 'at', 'payload', 'data'];
      const types =
        table === 'audit' ? ['bigint', 'text', 'text'] : ['bigint', 'text', 'text', 'text', 'text', 'bytea'];
      // (the caller opened the file through openStore first, so its schema is current: events have `data`)
      const select =
        table === 'audit'
          ? 'SELECT seq, at, row FROM audit ORDER BY seq'
          : 'SELECT seq, kind, key, at, payload, data FROM events ORDER BY seq';
      let rows: unknown[][] = [];
      let n = 0;
      const flush = () => {
        if (!rows.length) return;
        const arrays = cols.map((_, j) =>
          rows.map((r) => (table === 'events' && (j === 1 || j === 2) ? encKey(r[j] as string) : r[j])),
        );
        sql(
          `INSERT INTO ${table} (${cols.join(', ')}) SELECT * FROM unnest(${cols.map((_, j) => `$${j + 1}::${types[j]}[]`).join(', ')}) ON CONFLICT (seq) DO NOTHING`,
          arrays,
        );
        n += rows.length;
        rows = [];
        o.onProgress?.(`${table}: ${n.toLocaleString()}`);
      };
      for (const r of src.prepare(select).raw().iterate() as IterableIterator<unknown[]>) {
        rows.push(r);
        if (rows.length === 500) flush();
      }
      flush();
      // New rows written by the service afterwards continue after the copied ones.
      sql(`SELECT setval(pg_get_serial_sequence('${table}', 'seq'), GREATEST((SELECT max(seq) FROM ${table}), 1))`);
    };
    sequenced('audit');
    sequenced('events');

    const registry = o.modelsDir
      ? startRegistrySync({ store: o.target, modelsDir: o.modelsDir, intervalMs: 3_600_000 })
      : null;
    let registryReport: MigrateReport['registry'] = null;
    if (registry) {
      registry.stop();
      const again = registry.syncOnce();
      registryReport = {
        pushed: (sql('SELECT count(*)::int AS n FROM model_versions')[0].n as number) ?? 0,
        champion: again.champion,
      };
    }

    const report = compare(src, sql, has);
    return { tables: report, notCopied, registry: registryReport, equal: report.every((t) => t.equal) };
  } finally {
    src.close();
  }
}

type Sql = (text: string, values?: unknown[]) => Record<string, unknown>[];

/** Counts and multiset hashes of each copied table on both sides. */
function compare(src: Database.Database, sql: Sql, has: (t: string) => boolean): TableReport[] {
  const out: TableReport[] = [];
  const side = (
    table: string,
    srcSelect: string,
    pgSelect: string,
    key: string,
    row: (r: unknown[], pg: boolean) => (string | number | Uint8Array | null)[],
  ) => {
    if (!has(table)) return;
    const a = new MultisetHash();
    for (const r of src.prepare(srcSelect).raw().iterate() as IterableIterator<unknown[]>) a.add(...row(r, false));
    const b = new MultisetHash();
    // Keyset pages over the primary key: no cursor or long transaction on the target.
    let last: unknown = null;
    for (;;) {
      const cast = key === 'ctid' ? '::tid' : '';
      const rows = sql(
        `${pgSelect} ${last === null ? '' : `WHERE ${key} > $1${cast}`} ORDER BY ${key} LIMIT ${BATCH}`,
        last === null ? [] : [last],
      );
      for (const r of rows) b.add(...row(Object.values(r), true));
      if (rows.length < BATCH) break;
      // (runs page by the row's physical address, selected as `k`: ordering by a text alias would not be tid order)
      last = rows[rows.length - 1][key === 'ctid' ? 'k' : key];
    }
    out.push({
      table,
      source: a.count,
      target: b.count,
      sourceHash: a.hex(),
      targetHash: b.hex(),
      equal: a.count === b.count && a.hex() === b.hex(),
    });
  };
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  side('runs', 'SELECT record FROM runs', 'SELECT record, ctid::text AS k FROM runs', 'ctid', (r) => [text(r[0])]);
  side('state', 'SELECT key, value FROM state', 'SELECT key, value FROM state', 'key', (r, pg) =>
    pg ? [decKey(r[0] as string), decKey(r[1] as string)] : [text(r[0]), text(r[1])],
  );
  side('circuits', 'SELECT name, row FROM circuits', 'SELECT name, row FROM circuits', 'name', (r, pg) => [
    pg ? decKey(r[0] as string) : text(r[0]),
    text(r[1]),
  ]);
  side('models', 'SELECT id, row FROM models', 'SELECT id, row FROM models', 'id', (r) => [text(r[0]), text(r[1])]);
  side('audit', 'SELECT seq, at, row FROM audit', 'SELECT seq, at, row FROM audit', 'seq', (r) => [
    Number(r[0]),
    text(r[1]),
    text(r[2]),
  ]);
  const bytes = (v: unknown) => (v == null ? null : v instanceof Uint8Array ? v : null);
  side(
    'events',
    'SELECT seq, kind, key, at, payload, data FROM events',
    'SELECT seq, kind, key, at, payload, data FROM events',
    'seq',
    (r, pg) => [
      Number(r[0]),
      pg ? decKey(r[1] as string) : text(r[1]),
      pg ? decKey(r[2] as string) : text(r[2]),
      text(r[3]),
      text(r[4]),
      bytes(r[5]),
    ],
  );
  return out;
}
