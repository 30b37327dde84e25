import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireScope } from '../../src/api/auth.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelsRouter } from '../../src/registry/router.ts';
import { DEFAULT_CRON } from '../../src/config/background.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { call, serveApp } from '../api/helpers.ts';
import { randomHistory } from '../support/runs.ts';

const ADMIN = 'admin-token-0123456789';
const CI = 'ci-token-0123456789abc';
const env = { RISKGATE_API_KEYS: `ops:admin+report+score:${ADMIN},ci:score+report:${CI}` };
const as = (t: string) => ({ authorization: `Bearer ${t}` });

async function setup() {
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(3, 300));
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-router-'));
  const first = (await trainFromStore({ store, modelsDir, kinds: ['baseline'] })).manifest;
  const second = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest;
  let reloads = 0;
  const router = createModelsRouter({
    store,
    modelsDir,
    requireScope,
    cron: DEFAULT_CRON,
    scorer: { reload: async () => (reloads++, true) },
  });
  const srv = await serveApp({ store, env, extraRouters: [router] });
  return { store, modelsDir, first, second, srv, reloads: () => reloads };
}

test('lists and shows versions with status, metrics and data range', async () => {
  const { first, second, srv } = await setup();
  const list = await call(srv.url, 'GET', '/v1/models', undefined, as(CI));
  assert.equal(list.status, 200);
  assert.equal(list.body.champion, first.id);
  assert.deepEqual(list.body.models.map((m: { id: string }) => m.id).sort(), [first.id, second.id].sort());
  const champ = list.body.models.find((m: { id: string }) => m.id === first.id);
  assert.equal(champ.champion, true);
  assert.equal(typeof champ.metrics.pr_auc, 'number');
  assert.ok(champ.data_range.rows > 0);
  const one = await call(srv.url, 'GET', `/v1/models/${second.id}`, undefined, as(CI));
  assert.equal(one.status, 200);
  assert.equal(one.body.status, 'challenger');
  assert.equal(one.body.sha256, second.sha256);
  assert.equal((await call(srv.url, 'GET', '/v1/models/gbdt-19990101000000-000000', undefined, as(CI))).status, 404);
  const bad = await call(srv.url, 'GET', '/v1/models/Not_An_Id', undefined, as(CI));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details[0].path, 'params.id');
  await srv.close();
});

test('promote and rollback need the admin scope and a reason, and are audited with who and why', async () => {
  const { store, modelsDir, first, second, srv, reloads } = await setup();
  const registry = new Registry(modelsDir);
  const denied = await call(srv.url, 'POST', `/v1/models/${second.id}/promote`, { reason: 'better' }, as(CI));
  assert.equal(denied.status, 403);
  const noReason = await call(srv.url, 'POST', `/v1/models/${second.id}/promote`, {}, as(ADMIN));
  assert.equal(noReason.status, 400);
  assert.equal(noReason.body.details[0].path, 'reason');
  assert.equal(registry.championId(), first.id, 'rejected requests change nothing');

  const ok = await call(
    srv.url,
    'POST',
    `/v1/models/${second.id}/promote`,
    { reason: 'fixes flaky-test blind spot' },
    as(ADMIN),
  );
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { champion: second.id, previous: first.id });
  assert.equal(registry.championId(), second.id);
  assert.equal(reloads(), 1, 'the serving scorer reloads at once');
  assert.equal(
    (await call(srv.url, 'POST', `/v1/models/${second.id}/promote`, { reason: 'again' }, as(ADMIN))).status,
    409,
  );

  const back = await call(srv.url, 'POST', '/v1/models/rollback', { reason: 'alert storm' }, as(ADMIN));
  assert.equal(back.status, 200);
  assert.equal(back.body.champion, first.id);
  assert.equal(registry.championId(), first.id);
  assert.equal(registry.manifest(second.id)!.status, 'retired');

  const audit = store.listAudit(10);
  const promote = audit.find((a) => a.action === 'promote')!;
  assert.equal(promote.actor, 'ops');
  assert.equal(promote.subject, second.id);
  assert.equal(promote.detail.reason, 'fixes flaky-test blind spot');
  assert.ok(!Number.isNaN(Date.parse(promote.at)));
  const rollback = audit.find((a) => a.action === 'rollback')!;
  assert.equal(rollback.detail.reason, 'alert storm');
  assert.equal(rollback.detail.from, second.id);
  assert.equal(store.listModels().find((m) => m.id === second.id)?.status, 'retired');
  await srv.close();
});

test('trial, jobs, drift and shadow endpoints', async () => {
  const { store, second, srv } = await setup();
  const t = await call(
    srv.url,
    'POST',
    `/v1/models/${second.id}/trial`,
    { reason: 'try it live', ab_share: 0.25 },
    as(ADMIN),
  );
  assert.equal(t.status, 200);
  assert.equal(store.getState('shadow:challenger'), second.id);
  assert.equal(
    (await call(srv.url, 'POST', `/v1/models/${second.id}/trial`, { reason: 'x', ab_share: 2 }, as(ADMIN))).body
      .details[0].path,
    'ab_share',
  );
  const list = await call(srv.url, 'GET', '/v1/models', undefined, as(CI));
  assert.equal(list.body.trial, second.id);
  assert.equal(list.body.ab_share, 0.25);
  const sh = await call(srv.url, 'GET', '/v1/shadow', undefined, as(CI));
  assert.equal(sh.body.challenger, second.id);
  assert.equal(sh.body.ready, false);
  const end = await call(srv.url, 'POST', '/v1/models/trial/end', { reason: 'enough' }, as(ADMIN));
  assert.equal(end.status, 200);
  assert.equal(store.getState('shadow:challenger'), undefined);
  const jobs = await call(srv.url, 'GET', '/v1/jobs', undefined, as(CI));
  assert.deepEqual(
    jobs.body.jobs.map((j: { name: string }) => j.name),
    ['ingest', 'retrain', 'evaluate'],
  );
  const drift = await call(srv.url, 'GET', '/v1/drift', undefined, as(CI));
  assert.equal(drift.body.enabled, false);
  assert.equal((await call(srv.url, 'GET', '/v1/models')).status, 401);
  await srv.close();
});
