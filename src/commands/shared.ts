import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { commandDirs } from '../config/commands.ts';
import { isPostgresLocation, openStoreAt, storeLocation } from '../store/open.ts';
import type { Store } from '../store/types.ts';

/** Where the CLI finds its store and registry unless told otherwise (same defaults as the server). */
export function defaultPaths(env?: NodeJS.ProcessEnv): { dataDir: string; modelsDir: string; db: string } {
  const { dataDir, modelsDir } = commandDirs(env);
  // db: the SQLite file, or (RISKGATE_DATABASE_URL set) a marker standing for the PostgreSQL URL (see store/open.ts)
  return { dataDir, modelsDir, db: storeLocation(dataDir, env) };
}

/** The store a command uses, as an absolute path: the default (data/) is under the current folder, so summaries name it. */
export function storePath(db?: string): string {
  const where = db ?? defaultPaths().db;
  return isPostgresLocation(where) ? 'PostgreSQL (RISKGATE_DATABASE_URL)' : resolve(where);
}

export function openDefaultStore(db?: string): Store {
  const where = db ?? defaultPaths().db;
  // PostgreSQL: the location is the URL (or its env marker), never a path to resolve or print.
  if (isPostgresLocation(where)) return openStoreAt(where);
  const path = resolve(where);
  // Run from another folder, the default path silently made a second, empty store; say so.
  const isNew = !existsSync(path);
  const store = openStoreAt(path);
  if (isNew)
    process.stderr.write(
      `riskgate: created a new, empty store at ${path} (the default is data/riskgate.db under the current folder; RISKGATE_DATA_DIR or --db choose another)\n`,
    );
  return store;
}

/**
 * Step messages of a long command (train, backtest) on stderr, and on a terminal a ticker between them
 * ("riskgate train: training… 14 s") so a minute of gbdt tuning is not a silent minute. Off a terminal
 * only the messages are written.
 */
export function progressLog(
  command: string,
  o: { out?: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>; now?: () => number; everyMs?: number } = {},
): { log: (m: string) => void; done: () => void } {
  const out = o.out ?? process.stderr;
  const now = o.now ?? Date.now;
  const t0 = now();
  let step = 'starting';
  const clear = () => out.isTTY && out.write('\r\x1b[K');
  const timer = out.isTTY
    ? setInterval(
        () => out.write(`\r\x1b[K${command}: ${step}… ${Math.round((now() - t0) / 1000)} s`),
        o.everyMs ?? 1000,
      )
    : null;
  timer?.unref();
  return {
    log: (m) => {
      clear();
      out.write(`${m}\n`);
      step = `working (last: ${m.length > 60 ? `${m.slice(0, 57)}…` : m})`;
    },
    done: () => {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
