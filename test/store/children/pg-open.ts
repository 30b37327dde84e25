// Opens the PostgreSQL store at argv[2] (running its migrations) and reports the schema version it found.
import pg from 'pg';
import { openPostgresStore } from '../../../src/store/postgres.ts';

const url = process.argv[2];
const store = openPostgresStore(url);
store.setState(`opened-by-${process.pid}`, '1');
store.close();
const c = new pg.Client({ connectionString: url });
await c.connect();
const { rows } = await c.query('SELECT version FROM riskgate_schema');
await c.end();
process.stdout.write(JSON.stringify(rows));
