/**
 * `riskgate migrate-store`: an SQLite store and its registry folder copied into PostgreSQL, run as the CLI
 * runs it. Counts and hashes equal after; re-running changes nothing; a target row altered afterwards is
 * reported (exit 1). A throwaway cluster; skips with the reason without PostgreSQL binaries (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Registry } from '../../src/registry/registry.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { openPostgresStore, rawQuery } from '../../src/store/postgres.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { pgMissingReason, pgOrSkip, startPostgres, type PgCluster } from '../support/postgres.ts';
import { randomHistory } from '../support/runs.ts';

let cluster: PgCluster | null = null;
before(async () => {
  if (pgMissingReason() === null) cluster = await startPostgres();
});
after(() => cluster?.destroy());

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const migrate = (from: string, modelsDir: string, url: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, 'migrate-store', '--from', from, '--models-dir', modelsDir], {
    encoding: 'utf8',
    // The URL through the environment, as the help recommends (argv is visible to `ps`).
    env: { ...process.env, RISKGATE_DATABASE_URL: url },
    timeout: 120_000,
  });

test(
  'migrate-store copies every table and the registry; counts and hashes equal; a re-run changes nothing',
  { timeout: 180_000 },
  async (t) => {
    if (!pgOrSkip(t) || !cluster) return;
    const dir = mkdtempSync(join(tmpdir(), 'rg-migrate-'));
    const file = join(dir, 'riskgate.db');
    const s = openStore(file);
    s.upsertRuns(randomHistory(7, 2500));
    s.upsertRuns([
      RunRecordSchema.parse({
        repo: 'odd/keys',
        run_id: 'a\u0000b',
        workflow: 'w\u0001',
        actor: 'x\u0000',
        created_at: '2024-01-01T00:00:00Z',
        conclusion: 'success',
      }),
    ]);
    s.setState('canary:svc:v1', JSON.stringify({ weight: 20 }));
    s.setState('odd\u0000key', 'v\u0000');
    s.putCircuit({ name: 'npm', state: 'open', consecutive_failures: 4, opened_at: 1, trial_at: null, updated_at: 2 });
    s.putModel({
      id: 'gbdt-1',
      kind: 'gbdt',
      status: 'champion',
      created_at: '2024-01-01T00:00:00Z',
      metrics: {},
      data_range: { from: null, to: null, rows: 1 },
    });
    for (let i = 0; i < 30; i++)
      s.appendAudit({
        at: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        actor: 'k',
        action: 'promote',
        subject: `m${i}`,
        detail: {},
      });
    for (let i = 0; i < 700; i++)
      s.appendEvent(
        i % 2 ? 'canary_decision' : 'risk',
        `svc${i % 5}`,
        { i },
        i % 3 ? new Uint8Array(new Float64Array([i, -i, 0.5]).buffer) : undefined,
      );
    s.close();
    const modelsDir = join(dir, 'models');
    const reg = new Registry(modelsDir);
    const m = reg.register({
      kind: 'gbdt',
      features: ['a'],
      data_range: { from: null, to: null, rows: 1 },
      threshold: 0.5,
      status: 'challenger',
      metrics: { pr_auc: 0.5 },
      artifact: { trees: [1] },
    });
    reg.setChampion(m.id);

    // (trust authentication ignores the password; it is there to show it is never printed)
    const url = cluster.createDatabase().replace('postgres@', 'postgres:s3cret-pw@');
    const first = migrate(file, modelsDir, url);
    assert.equal(first.status, 0, first.stderr + first.stdout);
    t.diagnostic(first.stdout.trim());
    for (const table of ['runs', 'state', 'circuits', 'models', 'audit', 'events'])
      assert.match(first.stdout, new RegExp(`  ${table}\\s+\\d+ →\\s+\\d+  [0-9a-f]{16} = [0-9a-f]{16}`), table);
    assert.match(first.stdout, /runs\s+5001 →\s+5001/);
    assert.match(first.stdout, /events\s+700 →\s+700/);
    assert.ok(!(first.stdout + first.stderr).includes('s3cret-pw'), 'the password is never printed');
    assert.match(first.stdout, /postgres:\*\*\*@/);

    const pg = openPostgresStore(url);
    try {
      const snapshot = () =>
        ['runs', 'state', 'circuits', 'models', 'audit', 'events', 'model_versions', 'model_pointer'].map(
          (table) =>
            rawQuery(
              pg,
              `SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS h FROM ${table} x`,
            )[0],
        );
      const before = snapshot();
      assert.equal(pg.getState('odd\u0000key'), 'v\u0000');
      assert.equal(pg.getRun('odd/keys', 'w\u0001', 'a\u0000b', 1)?.actor, 'x\u0000');
      assert.deepEqual(
        new Uint8Array(pg.listEvents('canary_decision', { key: 'svc1', limit: 1 })[0].data!),
        new Uint8Array(new Float64Array([691, -691, 0.5]).buffer),
      );
      assert.equal((rawQuery(pg, 'SELECT champion FROM model_pointer')[0] as { champion: string }).champion, m.id);
      // New events written by the service after the move continue the sequence.
      pg.appendEvent('risk', 'after', {});
      assert.equal(pg.listEvents('risk', { limit: 1 })[0].key, 'after');
      rawQuery(pg, "DELETE FROM events WHERE key = 'after'");

      const second = migrate(file, modelsDir, url);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual(snapshot(), before, 'a re-run changed nothing');

      // A copy that does not match is reported, not passed over.
      rawQuery(pg, `UPDATE events SET payload = '{"i":-1}' WHERE seq = 5`);
      const third = migrate(file, modelsDir, url);
      assert.equal(third.status, 1);
      assert.match(third.stdout, /events\s+700 →\s+700 {2}[0-9a-f]{16} ≠ [0-9a-f]{16}/);
    } finally {
      pg.close();
    }
  },
);
