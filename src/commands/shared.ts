import { join } from 'node:path';
import { openStoreAt, storeLocation } from '../store/open.ts';
import type { Store } from '../store/types.ts';

/** Where the CLI finds its store and registry unless told otherwise (same defaults as the server). */
export function defaultPaths(env: NodeJS.ProcessEnv = process.env): { dataDir: string; modelsDir: string; db: string } {
  const dataDir = env.RISKGATE_DATA_DIR ?? 'data';
  // db: the SQLite file, or (RISKGATE_DATABASE_URL set) a marker standing for the PostgreSQL URL (see store/open.ts)
  return { dataDir, modelsDir: env.RISKGATE_MODELS_DIR ?? 'models', db: storeLocation(dataDir, env) };
}

export function openDefaultStore(db?: string): Store {
  return openStoreAt(db ?? defaultPaths().db);
}

/** Thrown for bad command-line usage; the CLI prints it and exits 2. */
export class UsageError extends Error {}

export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
