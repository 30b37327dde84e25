/**
 * The Store contract (contract.ts) on PostgreSQL: one throwaway cluster for the file, a fresh database per
 * test. Skips with the reason when the PostgreSQL binaries are absent (fails under CI=true).
 */
import { after, before, test } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { pgOrSkip, pgMissingReason, startPostgres, type PgCluster } from '../support/postgres.ts';
import { storeContract } from './contract.ts';

let cluster: PgCluster | null = null;
const available = pgMissingReason() === null;
before(async () => {
  if (available) cluster = await startPostgres();
});
after(() => cluster?.destroy());

test('postgres: the cluster helper starts a server (or says why not)', (t) => {
  if (!pgOrSkip(t)) return;
});

storeContract(
  'postgres',
  available
    ? {
        asyncVersion: true,
        async fresh() {
          const url = cluster!.createDatabase();
          return { store: openPostgresStore(url), connect: () => openPostgresStore(url) };
        },
      }
    : null,
);
