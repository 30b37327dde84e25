/**
 * Numbered, append-only migrations. Each runs once, inside a transaction, and bumps `user_version`,
 * so a crash mid-migration leaves the previous schema intact.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, state, circuits, models, audit, events, locks
  `
  CREATE TABLE runs (
    repo TEXT NOT NULL,
    workflow TEXT NOT NULL,
    run_id TEXT NOT NULL,
    run_attempt INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    completed_ms INTEGER,
    actor TEXT,
    conclusion TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (repo, workflow, run_id, run_attempt)
  ) WITHOUT ROWID;
  CREATE INDEX runs_by_time ON runs (repo, created_ms, run_id, run_attempt);
  CREATE INDEX runs_by_actor ON runs (repo, actor, created_ms);
  CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE circuits (name TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE models (id TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, row TEXT NOT NULL);
  CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL, payload TEXT NOT NULL);
  CREATE INDEX events_by_kind ON events (kind, key, seq);
  CREATE TABLE locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
  `,
  // 2: a change log of run writes, so a process can tell which repos another process changed (cache invalidation)
  `
  CREATE TABLE run_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    writer TEXT NOT NULL,
    runs TEXT
  );
  `,
  // 3: an author's recent runs in the exact order the query asks for, so LIMIT stops early instead of sorting
  // every run the author ever had (the old index left run_id and run_attempt to a sort that grew with history)
  `
  DROP INDEX runs_by_actor;
  CREATE INDEX runs_by_actor ON runs (repo, actor, created_ms, run_id, run_attempt);
  `,
  // 4: binary data beside an event's JSON (a canary decision's raw samples: 48 KB as float64 instead of
  // 65 KB of base64 inside JSON, written in half the time)
  `
  ALTER TABLE events ADD COLUMN data BLOB;
  `,
];
