/**
 * Models without a shared volume: replicas with their own (empty) registry folders share versions and the
 * champion pointer through PostgreSQL (src/registry/db-sync.ts). A throwaway cluster; skips with the reason
 * without PostgreSQL binaries (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startRegistrySync } from '../../src/registry/db-sync.ts';
import { Registry } from '../../src/registry/registry.ts';
import { openPostgresStore, rawQuery } from '../../src/store/postgres.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { pgMissingReason, pgOrSkip, startPostgres, type PgCluster } from '../support/postgres.ts';

let cluster: PgCluster | null = null;
before(async () => {
  if (pgMissingReason() === null) cluster = await startPostgres();
});
after(() => cluster?.destroy());

const base = {
  kind: 'gbdt',
  features: ['a'],
  data_range: { from: null, to: null, rows: 10 },
  threshold: 0.5,
  status: 'challenger' as const,
  metrics: { pr_auc: 0.5 },
};

test(
  'a champion promoted on one replica reaches another with an empty folder, verified; a changed manifest follows',
  { timeout: 60_000 },
  async (t) => {
    if (!pgOrSkip(t) || !cluster) return;
    const url = cluster.createDatabase();
    const [sa, sb] = [openPostgresStore(url), openPostgresStore(url)];
    const [da, db] = [mkdtempSync(join(tmpdir(), 'rg-sync-a-')), mkdtempSync(join(tmpdir(), 'rg-sync-b-'))];
    const ra = new Registry(da);
    const m1 = ra.register({ ...base, artifact: { trees: [1, 2, 3] } });
    writeFileSync(join(da, m1.id, 'drift-reference.json'), '{"bins":[1]}');
    ra.setChampion(m1.id);
    const changed: string[] = [];
    const a = startRegistrySync({ store: sa, modelsDir: da, intervalMs: 3_600_000 })!;
    const b = startRegistrySync({
      store: sb,
      modelsDir: db,
      intervalMs: 3_600_000,
      onChampionChanged: (id) => changed.push(id),
    })!;
    try {
      const rb = new Registry(db);
      assert.equal(rb.championId(), m1.id, 'b started on the champion a published');
      assert.deepEqual(rb.readArtifact(m1.id).artifact, { trees: [1, 2, 3] });
      assert.equal(rb.manifest(m1.id)?.status, 'champion');
      // Promotion on b (a new version trained there): a follows on its next pass.
      const m2 = rb.register({ ...base, artifact: { trees: [4] } });
      rb.setChampion(m2.id);
      assert.deepEqual(b.syncOnce().pushed.sort(), [m1.id, m2.id].sort(), 'the new version and the retired one');
      const got = a.syncOnce();
      assert.equal(got.champion, m2.id);
      assert.equal(ra.championId(), m2.id);
      assert.equal(ra.manifest(m1.id)?.status, 'retired');
      // Rollback through a's API: b follows, and b's change callback fired for the pulls it made.
      ra.rollback();
      a.syncOnce();
      assert.equal(b.syncOnce().champion, m1.id);
      assert.equal(rb.championId(), m1.id);
      assert.deepEqual(
        changed,
        [m1.id, m1.id],
        'at start, and after the rollback (its own promotion of m2 is not a pull)',
      );
      // Nothing changed: a pass pushes and pulls nothing.
      assert.deepEqual([a.syncOnce().pushed, b.syncOnce().pulled], [[], []]);
    } finally {
      a.stop();
      b.stop();
      sa.close();
      sb.close();
    }
  },
);

test(
  'a champion whose bytes in the database do not verify is refused: the replica keeps serving its current one',
  { timeout: 60_000 },
  async (t) => {
    if (!pgOrSkip(t) || !cluster) return;
    const url = cluster.createDatabase();
    const [sa, sb] = [openPostgresStore(url), openPostgresStore(url)];
    const [da, db] = [mkdtempSync(join(tmpdir(), 'rg-sync-a-')), mkdtempSync(join(tmpdir(), 'rg-sync-b-'))];
    const ra = new Registry(da);
    const good = ra.register({ ...base, artifact: { v: 'good' } });
    ra.setChampion(good.id);
    const a = startRegistrySync({ store: sa, modelsDir: da, intervalMs: 3_600_000 })!;
    const b = startRegistrySync({ store: sb, modelsDir: db, intervalMs: 3_600_000 })!;
    try {
      const bad = ra.register({ ...base, artifact: { v: 'bad' } });
      ra.setChampion(bad.id);
      a.syncOnce();
      // The stored bytes are altered after upload (a bad restore, a hand edit).
      rawQuery(sa, `UPDATE model_versions SET artifact = convert_to('{"v":"evil"}', 'UTF8') WHERE id = $1`, [bad.id]);
      const got = b.syncOnce();
      assert.ok(got.refused.includes(bad.id));
      assert.equal(new Registry(db).championId(), good.id, 'kept the verified champion');
      assert.equal(new Registry(db).manifest(bad.id), undefined, 'nothing of the bad version written');
      // A stale local folder does not win over the database on a restart: the first pass takes the database's.
      const dc = mkdtempSync(join(tmpdir(), 'rg-sync-c-'));
      const rc = new Registry(dc);
      const stale = rc.register({ ...base, artifact: { v: 'stale' } });
      rc.setChampion(stale.id);
      rawQuery(sa, `UPDATE model_pointer SET champion = $1`, [good.id]);
      const c = startRegistrySync({ store: sb, modelsDir: dc, intervalMs: 3_600_000 })!;
      c.stop();
      assert.equal(rc.championId(), good.id);
      assert.equal((rawQuery(sa, 'SELECT champion FROM model_pointer')[0] as { champion: string }).champion, good.id);
    } finally {
      a.stop();
      b.stop();
      sa.close();
      sb.close();
    }
  },
);

test('on SQLite there is nothing to sync: the registry folder is the registry', () => {
  assert.equal(
    startRegistrySync({ store: openStore(':memory:'), modelsDir: mkdtempSync(join(tmpdir(), 'rg-sync-s-')) }),
    null,
  );
});
