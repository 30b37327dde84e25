/**
 * Which store a process opens: PostgreSQL when RISKGATE_DATABASE_URL is a postgres:// URL (several replicas
 * share it), otherwise the embedded SQLite file in RISKGATE_DATA_DIR (no setup: `npm ci && npm start`).
 */
import { join } from 'node:path';
import { databaseUrl } from '../config/commands.ts';
import { isPostgresUrl, openPostgresStore, redactUrl } from './postgres.ts';
import { openStore, type OpenStoreOptions } from './sqlite.ts';
import type { Store } from './types.ts';

/**
 * Stands for "the PostgreSQL URL in this process's environment" where a location is handed to a child
 * process or printed: a URL carries its password, and a child's argv is visible to anyone running `ps`.
 */
export const DATABASE_URL_FROM_ENV = 'env:RISKGATE_DATABASE_URL';

/** Where the store is: DATABASE_URL_FROM_ENV when RISKGATE_DATABASE_URL is set, else the SQLite file in `dataDir`. */
export function storeLocation(dataDir: string, env?: NodeJS.ProcessEnv): string {
  const url = databaseUrl(env);
  if (url) {
    if (!isPostgresUrl(url))
      throw new Error(`RISKGATE_DATABASE_URL: "${redactUrl(url)}" is not a postgres:// or postgresql:// URL`);
    return DATABASE_URL_FROM_ENV;
  }
  return join(dataDir, 'riskgate.db');
}

/** Whether a location names the PostgreSQL store. */
export function isPostgresLocation(location: string): boolean {
  return location === DATABASE_URL_FROM_ENV || isPostgresUrl(location);
}

/** Opens the store at a location from storeLocation (or a postgres:// URL, or an SQLite file path). */
export function openStoreAt(location: string, sqlite: OpenStoreOptions = {}, env?: NodeJS.ProcessEnv): Store {
  if (location === DATABASE_URL_FROM_ENV) {
    const url = databaseUrl(env);
    if (!isPostgresUrl(url)) throw new Error('RISKGATE_DATABASE_URL is not set to a postgres:// URL in this process');
    return openPostgresStore(url);
  }
  if (isPostgresUrl(location)) return openPostgresStore(location);
  return openStore(location, sqlite);
}
