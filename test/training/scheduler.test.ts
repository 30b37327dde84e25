import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { Registry } from '../../src/registry/registry.ts';
import type { Alert } from '../../src/alerts/format.ts';
import type { Alerter } from '../../src/alerts/alerter.ts';
import { createScheduler, jobHistory } from '../../training/scheduler.ts';
import { schedulerConfigFromEnv } from '../../src/config/background.ts';
import { randomHistory } from '../support/runs.ts';

const quiet = { info() {}, warn() {}, error() {} };
const fakeAlerter = (sink: Alert[]): Alerter => ({
  alert: (a) => (sink.push(a), { queued: true }),
  flush: async () => {},
  stats: () => ({ queued: 0, delivered: 0, failed: 0, deduplicated: 0, retries: 0, dropped: 0 }),
  close() {},
});

function inMemory() {
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(11, 400));
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-sched-'));
  return { store, modelsDir };
}

test('first retrain promotes; an identical retrain is rejected with its numbers; both recorded as job runs', async () => {
  const { store, modelsDir } = inMemory();
  const s = createScheduler({ store, modelsDir, log: quiet, config: { kinds: ['gbdt'] } });
  const first = await s.runJob('retrain');
  assert.equal(first.status, 'ok', first.error);
  assert.equal(first.result?.promoted, true);
  const registry = new Registry(modelsDir);
  const champion = registry.championId();
  assert.equal(champion, first.result?.challenger);

  const second = await s.runJob('retrain');
  assert.equal(second.status, 'ok', second.error);
  assert.equal(second.result?.promoted, false, 'same data and seed cannot beat the champion by the margin');
  assert.equal(registry.championId(), champion);
  const rejected = registry.manifest(String(second.result?.challenger))!;
  assert.equal(rejected.status, 'rejected');
  const decision = rejected.decision as { reasons: string[]; numbers: { pr_auc_gain: number } };
  assert.ok(decision.reasons.some((r) => /not enough/.test(r)));
  assert.equal(decision.numbers.pr_auc_gain, 0);
  assert.ok(existsSync(join(modelsDir, rejected.id, 'drift-reference.json')));

  const hist = jobHistory(store, 'retrain');
  assert.equal(hist.length, 2);
  assert.ok(hist[0].duration_ms >= 0 && hist[0].finished_at >= hist[0].started_at);
  const info = s.jobs().find((j) => j.name === 'retrain')!;
  assert.equal(info.cron, '0 3 * * 0');
  assert.equal(info.last?.result?.challenger, rejected.id);
  assert.equal(store.listAudit(10).filter((a) => a.action === 'promote' && a.actor === 'scheduler').length, 1);
});

test('an overlapping tick is skipped, not stacked; a lock held elsewhere skips; an expired lock does not block', async () => {
  const { store, modelsDir } = inMemory();
  const s = createScheduler({ store, modelsDir, log: quiet, config: { kinds: ['baseline'] } });
  const [a, b] = await Promise.all([s.runJob('retrain'), s.runJob('retrain')]);
  assert.equal(a.status, 'ok');
  assert.equal(b.status, 'skipped');
  assert.match(b.reason!, /still in progress/);

  assert.ok(store.tryLock('job:evaluate', 'other-host:1', 60_000));
  const held = await s.runJob('evaluate');
  assert.equal(held.status, 'skipped');
  assert.match(held.reason!, /another process/);

  assert.ok(store.tryLock('job:ingest', 'crashed-host:1', 1));
  await new Promise((r) => setTimeout(r, 10));
  const after = await s.runJob('ingest');
  assert.equal(after.status, 'ok');
  assert.match(String(after.result?.skipped), /GITHUB_TOKEN/);
  assert.deepEqual(
    jobHistory(store, 'retrain')
      .map((e) => e.status)
      .sort(),
    ['ok', 'skipped'],
  );
});

test('a failed retrain is recorded as an error and raises a retrain_failed alert', async () => {
  const store = openStore(':memory:');
  const alerts: Alert[] = [];
  const s = createScheduler({
    store,
    modelsDir: mkdtempSync(join(tmpdir(), 'rg-sched-')),
    log: quiet,
    alerter: fakeAlerter(alerts),
  });
  const ev = await s.runJob('retrain');
  assert.equal(ev.status, 'error');
  assert.match(ev.error!, /not enough finished runs/);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].kind, 'retrain_failed');
});

test('evaluate re-scores the champion on the newest data', async () => {
  const { store, modelsDir } = inMemory();
  const s = createScheduler({ store, modelsDir, log: quiet, config: { kinds: ['baseline'] } });
  await s.runJob('retrain');
  const ev = await s.runJob('evaluate');
  assert.equal(ev.status, 'ok');
  const offline = ev.result?.offline as { evaluated: boolean; metrics: { pr_auc: number }; rows: number };
  assert.equal(offline.evaluated, true);
  assert.ok(offline.rows > 0 && offline.metrics.pr_auc > 0);
});

test('the clock bounds what a retrain sees', async () => {
  const { store, modelsDir } = inMemory();
  const s = createScheduler({
    store,
    modelsDir,
    log: quiet,
    config: { kinds: ['baseline'] },
    clock: () => new Date('2024-01-20T00:00:00Z'),
  });
  const ev = await s.runJob('retrain');
  assert.equal(ev.status, 'ok', ev.error);
  const range = ev.result?.data_range as { to: string };
  assert.ok(range.to < '2024-01-20T00:00:00Z');
});

test('config from the environment: defaults, overrides, and errors naming the variable', () => {
  const c = schedulerConfigFromEnv({});
  assert.deepEqual(c.cron, { ingest: '*/15 * * * *', retrain: '0 3 * * 0', evaluate: '30 4 * * *' });
  assert.equal(schedulerConfigFromEnv({ RISKGATE_RETRAIN_CRON: '0 2 * * *' }).cron.retrain, '0 2 * * *');
  assert.throws(() => schedulerConfigFromEnv({ RISKGATE_RETRAIN_CRON: 'every sunday' }), /RISKGATE_RETRAIN_CRON/);
  assert.throws(() => schedulerConfigFromEnv({ RISKGATE_REPOS: 'acme' }), /RISKGATE_REPOS/);
  assert.throws(() => schedulerConfigFromEnv({ RISKGATE_RETRAIN_MODELS: 'gbdt,xgb' }), /RISKGATE_RETRAIN_MODELS.*xgb/);
});

test('killing the retrain process mid-training leaves the old champion serving; the next tick cleans up and retrains', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-kill-'));
  const dbPath = join(dir, 'riskgate.db');
  const modelsDir = join(dir, 'models');
  const store = openStore(dbPath);
  store.upsertRuns(randomHistory(7, 1500));
  let kill = true;
  const s = createScheduler({
    store,
    dbPath,
    modelsDir,
    log: quiet,
    config: { kinds: ['gbdt'] },
    onChild: (child) =>
      child.on('message', (m: { type: string }) => {
        if (kill && m.type === 'log') child.kill('SIGKILL');
      }),
  });
  kill = false;
  const first = await s.runJob('retrain');
  assert.equal(first.status, 'ok', first.error);
  const registry = new Registry(modelsDir);
  const champion = registry.championId()!;
  const sha = registry.manifest(champion)!.sha256;
  const before = readdirSync(modelsDir).sort();

  kill = true;
  const killed = await s.runJob('retrain');
  assert.equal(killed.status, 'error');
  assert.match(killed.error!, /SIGKILL/);
  assert.equal(registry.championId(), champion);
  assert.equal(registry.readArtifact(champion).manifest.sha256, sha);
  for (const m of registry.list())
    assert.doesNotThrow(() => registry.readArtifact(m.id), `listed version ${m.id} verifies`);
  assert.deepEqual(readdirSync(modelsDir).sort(), before, 'nothing half-written was left behind');

  // The crash window between the artifact and the manifest: a folder with an artifact and no manifest.
  const orphan = join(modelsDir, 'gbdt-20200101000000-dead01');
  mkdirSync(orphan);
  writeFileSync(join(orphan, 'model.json'), '{"partial":');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(orphan, old, old);
  assert.equal(
    registry.list().some((m) => m.id === 'gbdt-20200101000000-dead01'),
    false,
  );

  kill = false;
  const next = await s.runJob('retrain');
  assert.equal(next.status, 'ok', next.error);
  assert.deepEqual(next.result?.removed_orphans, ['gbdt-20200101000000-dead01']);
  assert.equal(existsSync(orphan), false);
  assert.ok(registry.manifest(String(next.result?.challenger)));
  assert.equal(store.tryLock('job:retrain', 'someone-else', 1000), true, 'the lock was released');
  store.close();
});
