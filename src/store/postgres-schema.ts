/**
 * The PostgreSQL store's schema: numbered, append-only migrations, like the SQLite ones (migrations.ts), with
 * the version in `riskgate_schema`. Each runs in its own transaction while the migrating process holds a
 * session advisory lock, so replicas starting together run each migration exactly once.
 *
 * Text columns that are compared or sorted use COLLATE "C" (byte order): SQLite compares with BINARY, and the
 * live history's tie-breaks (run_id order) must agree between the store and JavaScript on both backends.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the SQLite schema as of its migration 4, in one step
  `
  CREATE TABLE runs (
    repo text COLLATE "C" NOT NULL,
    workflow text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    run_attempt integer NOT NULL,
    created_ms bigint NOT NULL,
    completed_ms bigint,
    actor text COLLATE "C",
    conclusion text,
    record text NOT NULL,
    PRIMARY KEY (repo, workflow, run_id, run_attempt)
  );
  CREATE INDEX runs_by_time ON runs (repo, created_ms, run_id, run_attempt, workflow);
  CREATE INDEX runs_by_actor ON runs (repo, actor, created_ms, run_id, run_attempt);
  CREATE TABLE state (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
  CREATE TABLE circuits (name text COLLATE "C" PRIMARY KEY, row text NOT NULL);
  CREATE TABLE models (id text COLLATE "C" PRIMARY KEY, row text NOT NULL);
  CREATE TABLE audit (seq bigserial PRIMARY KEY, at text NOT NULL, row text NOT NULL);
  CREATE TABLE events (seq bigserial PRIMARY KEY, kind text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, at text NOT NULL, payload text NOT NULL, data bytea);
  CREATE INDEX events_by_kind ON events (kind, key, seq);
  CREATE INDEX events_by_kind_seq ON events (kind, seq);
  CREATE TABLE locks (name text COLLATE "C" PRIMARY KEY, owner text NOT NULL, expires_ms bigint NOT NULL);
  -- seq is taken from run_changes_seq under an advisory transaction lock held to commit (see postgres-worker.ts)
  CREATE SEQUENCE run_changes_seq;
  CREATE TABLE run_changes (seq bigint PRIMARY KEY, repo text COLLATE "C" NOT NULL, writer text NOT NULL, runs text);
  `,
  // 2: the model registry, so replicas share models without a shared volume (src/registry/db-sync.ts):
  // each version's files, its artifact's bytes and sha256, and one row for the champion pointer
  `
  CREATE TABLE model_versions (
    id text COLLATE "C" PRIMARY KEY,
    sha256 text NOT NULL,
    manifest text NOT NULL,
    files text NOT NULL,
    artifact bytea NOT NULL
  );
  CREATE TABLE model_pointer (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    champion text COLLATE "C",
    changed_at text NOT NULL
  );
  `,
];

/** Advisory lock keys (one 64-bit space per database, shared with anything else using advisory locks). */
export const LOCK_KEYS = {
  /** Held (session level) while migrations run. */
  migrate: 0x5269736b_0001n,
  /** Held (transaction level) from a change-log insert to its commit, so log positions commit in order. */
  runLog: 0x5269736b_0002n,
} as const;

/** The channel run writes notify on; the payload is the writer's id. */
export const RUNS_CHANNEL = 'riskgate_runs';

/**
 * PostgreSQL text cannot hold U+0000, and lone UTF-16 surrogates would be replaced by U+FFFD on the way in
 * (two different keys becoming one). Key columns hold this escaped form instead: \u0001 starts a two-unit
 * escape, so the mapping is injective, and it keeps the order of strings without lone surrogates.
 * The records themselves are JSON text, where JSON.stringify already escapes both.
 */
// eslint-disable-next-line no-control-regex -- these control characters are exactly what is escaped
const ODD = /[\u0000\u0001]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export function encKey(s: string): string;
export function encKey(s: string | null): string | null;
export function encKey(s: string | null): string | null {
  if (s === null) return null;
  ODD.lastIndex = 0;
  if (!ODD.test(s)) return s;
  return s.replace(ODD, (c) =>
    c === '\u0000' ? '\u0001\u0001' : c === '\u0001' ? '\u0001\u0002' : '\u0001\u0003' + c.charCodeAt(0).toString(16),
  );
}
export function decKey(s: string): string;
export function decKey(s: string | null): string | null;
export function decKey(s: string | null): string | null {
  if (s === null || !s.includes('\u0001')) return s;
  // eslint-disable-next-line no-control-regex -- the escape's lead character is U+0001 by design
  return s.replace(/\u0001(?:\u0001|\u0002|\u0003([0-9a-f]{4}))/g, (m, hex: string | undefined) =>
    m[1] === '\u0001' ? '\u0000' : m[1] === '\u0002' ? '\u0001' : String.fromCharCode(parseInt(hex!, 16)),
  );
}
