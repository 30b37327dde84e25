import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { commandDirs, databaseUrl } from '../config/commands.ts';
import { migrateSqliteToPostgres } from '../store/migrate.ts';
import { storeLocation } from '../store/open.ts';
import { isPostgresUrl, openPostgresStore, redactUrl } from '../store/postgres.ts';
import { openStore } from '../store/sqlite.ts';
import { progressDone, progressLine } from './shared.ts';

export const summary = 'Copy an SQLite store and its model registry into PostgreSQL (counts and hashes compared after)';
export const help = `Usage: riskgate migrate-store [--to postgres://user:pass@host:5432/db] [--from data/riskgate.db] [--models-dir models/]

Copies runs, state (rollouts, ingest cursors), circuits, the model index, the audit log, events (canary
decisions and outcomes, job runs, risk log) and the registry folder's versions and champion pointer into
PostgreSQL, then counts and hashes every table on both sides. Re-running it changes nothing. Stop the
SQLite-backed service first; start the replicas on PostgreSQL after.

--to defaults to $RISKGATE_DATABASE_URL (better than the command line, where \`ps\` shows the password);
--from to $RISKGATE_DATA_DIR/riskgate.db, --models-dir to $RISKGATE_MODELS_DIR.

Exit codes: 0 copied and equal, 1 a table differs after the copy or the copy failed, 2 bad usage.

Examples:
  RISKGATE_DATABASE_URL=postgres://riskgate@db:5432/riskgate riskgate migrate-store
  riskgate migrate-store --from /var/lib/riskgate/riskgate.db --to postgres://riskgate@db/riskgate`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { to: { type: 'string' }, from: { type: 'string' }, 'models-dir': { type: 'string' } },
  });
  const to = values.to ?? databaseUrl();
  if (!isPostgresUrl(to)) {
    console.error(
      `riskgate migrate-store: --to (or RISKGATE_DATABASE_URL) must be a postgres:// URL${to ? `, not "${redactUrl(to)}"` : ''}\n\n${help}`,
    );
    return 2;
  }
  // The SQLite file the service would use without RISKGATE_DATABASE_URL.
  const dirs = commandDirs();
  const paths = { ...dirs, db: storeLocation(dirs.dataDir, {}) };
  const from = values.from ?? paths.db;
  if (!existsSync(from)) {
    console.error(`riskgate migrate-store: no SQLite store at ${from}`);
    return 2;
  }
  const modelsDir = values['models-dir'] ?? paths.modelsDir;
  // Brings the file's schema up to date (as the service would on start) before it is read.
  openStore(from).close();
  const target = openPostgresStore(to, { statementTimeoutMs: 60_000 });
  const t0 = Date.now();
  try {
    const report = migrateSqliteToPostgres({
      sqliteFile: from,
      target,
      modelsDir: existsSync(modelsDir) ? modelsDir : undefined,
      onProgress: (m) => progressLine(m),
    });
    progressDone();
    console.log(`copied ${from} into ${redactUrl(to)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const t of report.tables) {
      console.log(
        `  ${t.table.padEnd(9)} ${String(t.source).padStart(9)} → ${String(t.target).padStart(9)}  ${t.sourceHash} ${t.equal ? '=' : '≠'} ${t.targetHash}`,
      );
    }
    if (report.registry)
      console.log(
        `  registry  ${report.registry.pushed} version(s) in the database, champion ${report.registry.champion ?? '(none)'}`,
      );
    if (report.notCopied.length) console.log(`  not copied (unknown to this version): ${report.notCopied.join(', ')}`);
    if (!report.equal) console.error('riskgate migrate-store: some tables differ after the copy (see ≠ above)');
    return report.equal ? 0 : 1;
  } finally {
    target.close();
  }
}
