/**
 * Writes to a store in a tight loop with its own connection, for the lock-contention test:
 *   node --import tsx writer.ts FILE SECONDS
 * Prints {"writes":N,"errors":[...]} when done.
 */
import { openStore } from '../../../src/store/sqlite.ts';
import { RunRecordSchema } from '../../../src/records/schema.ts';

const [file, seconds] = [process.argv[2], Number(process.argv[3] ?? 3)];
const store = openStore(file);
const errors: string[] = [];
let writes = 0;
const end = Date.now() + seconds * 1000;
for (let i = 0; Date.now() < end; i++) {
  try {
    store.upsertRuns([
      RunRecordSchema.parse({
        repo: 'child/repo',
        run_id: `c${i}`,
        workflow: 'ci',
        created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
        conclusion: 'success',
      }),
    ]);
    store.transaction(() => {
      const n = Number(store.getState('child.count') ?? 0);
      store.setState('child.count', String(n + 1));
    });
    store.appendEvent('child', 'k', { i });
    writes += 3;
  } catch (err) {
    errors.push(`${(err as Error).name}: ${(err as Error).message}`);
  }
}
store.close();
process.stdout.write(JSON.stringify({ writes, errors: errors.slice(0, 5), errorCount: errors.length }) + '\n');
