import { join } from 'node:path';
import { openStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';

/** Where the CLI finds its store and registry unless told otherwise (same defaults as the server). */
export function defaultPaths(env: NodeJS.ProcessEnv = process.env): { dataDir: string; modelsDir: string; db: string } {
  const dataDir = env.RISKGATE_DATA_DIR ?? 'data';
  return { dataDir, modelsDir: env.RISKGATE_MODELS_DIR ?? 'models', db: join(dataDir, 'riskgate.db') };
}

export function openDefaultStore(db?: string): Store {
  return openStore(db ?? defaultPaths().db);
}

/** Thrown for bad command-line usage; the CLI prints it and exits 2. */
export class UsageError extends Error {}

export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
