import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelScorer } from '../../src/serving/model-scorer.ts';
import { instrumentScorer } from '../../src/serving/live.ts';
import type { Alert } from '../../src/alerts/format.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { shadowReport } from '../../training/jobs/shadow.ts';
import { AB_SHARE_STATE, abArm, recordShadow, SHADOW_EVENT, TRIAL_STATE } from '../../src/serving/shadow.ts';
import { createScheduler } from '../../training/scheduler.ts';
import { randomHistory, rng } from '../support/runs.ts';

const tick = () => new Promise((r) => setImmediate(r));
const quiet = { info() {}, warn() {}, error() {} };

test('abArm: stable per repository and close to the configured share', () => {
  assert.equal(abArm('acme/web', 0.3, 'm1'), abArm('acme/web', 0.3, 'm1'));
  assert.equal(abArm('acme/web', 0, 'm1'), 'champion');
  assert.equal(abArm('acme/web', 1, 'm1'), 'challenger');
  let n = 0;
  for (let i = 0; i < 4000; i++) if (abArm(`org/repo${i}`, 0.3, 'm1') === 'challenger') n++;
  assert.ok(Math.abs(n / 4000 - 0.3) < 0.03, String(n));
});

/** Live requests scored by both models; outcomes then arrive as run records for the same commits. */
function liveTraffic(store: Store, n: number, challengerIsBetter: boolean) {
  const r = rng(5);
  const runs = [];
  for (let i = 0; i < n; i++) {
    const fail = r() < 0.3;
    const good = fail ? 0.6 + 0.4 * r() : 0.4 * r();
    const noise = r();
    recordShadow(store, {
      repo: 'acme/web',
      head_sha: `sha${i}`,
      arm: 'champion',
      champion: { id: 'champ-1', p: challengerIsBetter ? noise : good, threshold: 0.5 },
      challenger: { id: 'chal-1', p: challengerIsBetter ? good : noise, threshold: 0.5 },
    });
    runs.push(
      RunRecordSchema.parse({
        repo: 'acme/web',
        run_id: String(i),
        created_at: new Date().toISOString(),
        head_sha: `sha${i}`,
        conclusion: fail ? 'failure' : 'success',
      }),
    );
  }
  store.upsertRuns(runs);
}

test('shadowReport joins recorded scores with outcomes and applies the promotion rule once enough arrive', () => {
  const store = openStore(':memory:');
  store.setState(TRIAL_STATE, 'chal-1');
  liveTraffic(store, 120, true);
  const few = shadowReport(store, { minOutcomes: 200 });
  assert.equal(few.labelled, 120);
  assert.equal(few.ready, false);
  assert.equal(few.decision, null);
  const enough = shadowReport(store, { minOutcomes: 100 });
  assert.equal(enough.ready, true);
  assert.equal(enough.champion, 'champ-1');
  assert.ok(enough.challenger_metrics!.pr_auc > enough.champion_metrics!.pr_auc + 0.2);
  assert.equal(enough.decision!.promote, true);
  assert.equal(enough.arms.champion.requests, 120);

  const worse = openStore(':memory:');
  liveTraffic(worse, 120, false);
  assert.equal(shadowReport(worse, { challenger: 'chal-1', minOutcomes: 100 }).decision!.promote, false);
});

test('instrumented scorer: answers from the champion, records the challenger; A/B share serves the challenger; high scores alert', async () => {
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(11, 300));
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-live-'));
  const champ = (await trainFromStore({ store, modelsDir, kinds: ['baseline'] })).manifest;
  const chal = (await trainFromStore({ store, modelsDir, kinds: ['gbdt'], promote: false })).manifest;
  const inner = await createModelScorer({ store, modelsDir, pollMs: 0 });
  const alerts: Alert[] = [];
  const alerter = {
    alert: (a: Alert) => (alerts.push(a), { queued: true }),
    flush: async () => {},
    stats: () => ({}) as never,
    close() {},
  };
  const live = instrumentScorer(inner, { store, modelsDir, pollMs: 0, driftCheckMs: 0, alerter, minAlertScore: 0 });
  const req = {
    repo: 'acme/web',
    head_sha: 'abc',
    head_branch: 'main',
    event: 'push',
    actor: 'dev1',
    files: ['src/a.ts'],
    additions: 10,
    deletions: 1,
  };

  const plain = await live.score(req);
  await tick();
  assert.equal(plain.model?.id, champ.id);
  assert.equal(store.listEvents(SHADOW_EVENT).length, 0, 'no trial, nothing recorded');
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].kind, 'high_score');
  assert.equal(alerts[0].head_sha, 'abc');

  store.setState(TRIAL_STATE, chal.id);
  await live.refresh();
  const shadowed = await live.score(req);
  await tick();
  assert.equal(shadowed.model?.id, champ.id, 'the champion answers');
  const ev = store.listEvents(SHADOW_EVENT, { key: chal.id });
  assert.equal(ev.length, 1);
  assert.equal((ev[0].payload.champion as { p: number }).p, shadowed.probability);
  assert.equal((ev[0].payload.challenger as { id: string }).id, chal.id);
  assert.equal(ev[0].payload.arm, 'champion');

  store.setState(AB_SHARE_STATE, '1');
  await live.refresh();
  const ab = await live.score({ ...req, head_sha: 'def' });
  await tick();
  assert.equal(ab.model?.id, chal.id, 'the challenger arm is served by the challenger');
  assert.equal(store.listEvents(SHADOW_EVENT, { key: chal.id })[0].payload.arm, 'challenger');
  live.close();
});

test('the evaluate job promotes a trialled challenger that wins on live traffic, and audits it', async () => {
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(11, 300));
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-live-'));
  await trainFromStore({ store, modelsDir, kinds: ['baseline'] });
  const chal = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest;
  store.setState(TRIAL_STATE, chal.id);
  // Live traffic where the trialled model ranks failures far better than the champion.
  const r = rng(9);
  const runs = [];
  for (let i = 0; i < 60; i++) {
    const fail = r() < 0.3;
    recordShadow(store, {
      repo: 'acme/web',
      head_sha: `s${i}`,
      arm: 'champion',
      champion: { id: 'x', p: r(), threshold: 0.5 },
      challenger: { id: chal.id, p: fail ? 0.9 : 0.1, threshold: 0.5 },
    });
    runs.push(
      RunRecordSchema.parse({
        repo: 'acme/web',
        run_id: `live${i}`,
        created_at: new Date().toISOString(),
        head_sha: `s${i}`,
        conclusion: fail ? 'failure' : 'success',
      }),
    );
  }
  store.upsertRuns(runs);
  const s = createScheduler({ store, modelsDir, log: quiet, config: { shadowMinOutcomes: 50 } });
  const ev = await s.runJob('evaluate');
  assert.equal(ev.status, 'ok', ev.error);
  assert.equal((ev.result?.shadow as { outcome: string }).outcome, 'promoted');
  assert.equal(new Registry(modelsDir).championId(), chal.id);
  assert.equal(store.getState(TRIAL_STATE), undefined);
  assert.equal(store.listAudit(5)[0].detail.reason, 'shadow trial: beat the champion on live traffic');
});
