/** The Store contract (contract.ts) on the embedded SQLite backend: a fresh file per test. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { storeContract } from './contract.ts';

storeContract('sqlite', {
  asyncVersion: false,
  async fresh() {
    const file = join(mkdtempSync(join(tmpdir(), 'rg-contract-')), 'x.db');
    return { store: openStore(file), connect: () => openStore(file) };
  },
});
