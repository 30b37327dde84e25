import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, Registry } from '../../src/registry/registry.ts';

const base = {
  kind: 'gbdt',
  features: ['a', 'b'],
  data_range: { from: null, to: null, rows: 10 },
  threshold: 0.4,
  status: 'challenger' as const,
  metrics: { pr_auc: 0.5 },
};

test('a registered version carries its sha256 and verifies on read', () => {
  const reg = new Registry(mkdtempSync(join(tmpdir(), 'rg-reg-')));
  const m = reg.register({ ...base, artifact: { trees: [1, 2, 3] } });
  assert.match(m.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(reg.readArtifact(m.id).artifact, { trees: [1, 2, 3] });
  assert.equal(reg.list().length, 1);
});

test('a corrupt or missing artifact is detected by its hash and never loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-reg-'));
  const reg = new Registry(dir);
  const m = reg.register({ ...base, artifact: { w: 1 } });
  writeFileSync(join(dir, m.id, 'model.json'), JSON.stringify({ w: 2 }));
  assert.throws(() => reg.readArtifact(m.id), IntegrityError);
  assert.throws(() => reg.setChampion(m.id), IntegrityError, 'the champion pointer never moves to a corrupt model');
  assert.equal(reg.championId(), undefined);
});

test('champion pointer moves atomically and rollback restores the previous champion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-reg-'));
  const reg = new Registry(dir);
  const a = reg.register({ ...base, artifact: { v: 'a' } });
  const b = reg.register({ ...base, artifact: { v: 'b' } });
  reg.setChampion(a.id);
  reg.setChampion(b.id);
  assert.equal(reg.championId(), b.id);
  assert.equal(reg.manifest(a.id)?.status, 'retired');
  assert.equal(reg.rollback(), a.id);
  assert.equal(reg.championId(), a.id);
  assert.equal(reg.manifest(a.id)?.status, 'champion');
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary files left behind');
  assert.throws(() => reg.rollback(), /no previous champion/);
});

test('a folder without a manifest (crash mid-write) is not a version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-reg-'));
  const reg = new Registry(dir);
  reg.register({ ...base, artifact: { v: 1 } });
  const orphan = 'gbdt-20990101000000-abcdef';
  mkdirSync(join(dir, orphan));
  writeFileSync(join(dir, orphan, 'model.json'), '{"v":2}');
  assert.equal(reg.list().length, 1);
  assert.equal(reg.manifest(orphan), undefined);
  assert.throws(() => reg.readArtifact(orphan), IntegrityError);
  assert.throws(() => reg.manifest('../etc'), /invalid model id/);
});
