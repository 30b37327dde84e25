import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';

/** Where the CLI finds its store and registry unless told otherwise (same defaults as the server). */
export function defaultPaths(env: NodeJS.ProcessEnv = process.env): { dataDir: string; modelsDir: string; db: string } {
  const dataDir = env.RISKGATE_DATA_DIR ?? 'data';
  return { dataDir, modelsDir: env.RISKGATE_MODELS_DIR ?? 'models', db: join(dataDir, 'riskgate.db') };
}

/** The store a command uses, as an absolute path: the default (data/) is under the current folder, so summaries name it. */
export function storePath(db?: string): string {
  return resolve(db ?? defaultPaths().db);
}

export function openDefaultStore(db?: string): Store {
  const path = storePath(db);
  // Run from another folder, the default path silently made a second, empty store; say so.
  const isNew = !existsSync(path);
  const store = openStore(path);
  if (isNew) process.stderr.write(`riskgate: created a new, empty store at ${path} (the default is data/riskgate.db under the current folder; RISKGATE_DATA_DIR or --db choose another)\n`);
  return store;
}

/** Thrown for bad command-line usage; the CLI prints it and exits 2. */
export class UsageError extends Error {}

export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
