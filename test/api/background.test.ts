/**
 * What `riskgate serve` runs beside the answers, through the real server: proactive alerts for a high score,
 * a canary rollback and a circuit that opens reach a real webhook receiver once each; the drift gauges are in
 * /metrics; the scheduler is started only when asked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { backgroundSettings } from '../../src/config/background.ts';
import { ConfigError } from '../../src/config.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { call, silent, testConfig } from './helpers.ts';
import { receiver } from '../support/receiver.ts';
import { randomHistory } from '../support/runs.ts';
import { until } from '../support/wait.ts';

let dir: string;
let store: Store;
let running: RunningServer;
let rx: Awaited<ReturnType<typeof receiver>>;

const r = mulberry32(7);
const sample = (n: number, center: number, sd: number) => Array.from({ length: n }, () => center + sd * normal(r));

const kinds = () => rx.hits.map((h) => h.body.kind);

before(async () => {
  rx = await receiver();
  dir = mkdtempSync(join(tmpdir(), 'rg-background-'));
  const modelsDir = join(dir, 'models');
  store = openStore(join(dir, 'riskgate.db'));
  store.upsertRuns(randomHistory(3, 300));
  await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: true });
  running = await startServer(
    testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: modelsDir, RISKGATE_CIRCUIT_FAILURES: '3' }),
    {
      logger: silent,
      store,
      bootstrap: false,
      background: backgroundSettings({ RISKGATE_ALERT_WEBHOOKS: `json:${rx.url}`, RISKGATE_ALERT_MIN_SCORE: '0' }),
    },
  );
  await running.loaded;
});
after(async () => {
  await running?.shutdown();
  store?.close();
  await rx?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a scored build at or above RISKGATE_ALERT_MIN_SCORE alerts once per commit, with its factors', async () => {
  const body = { repo: 'acme/repo0', head_sha: 'feedface0001', files_changed: 3 };
  const a = await call(running.url, 'POST', '/v1/risk', body);
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.degraded, false, 'a trained model answered');
  await until(() => kinds().includes('high_score'), 'the high_score alert', 5000);
  await call(running.url, 'POST', '/v1/risk', body);
  await new Promise((res) => setTimeout(res, 100));
  const hits = rx.hits.filter((h) => h.body.kind === 'high_score');
  assert.equal(hits.length, 1, 'the same commit is alerted once within the window');
  assert.equal(hits[0].body.repo, 'acme/repo0');
  assert.equal(hits[0].body.head_sha, 'feedface0001');
  assert.ok(Math.abs((hits[0].body.score as number) - a.body.probability) < 1e-9);
});

test('a canary rollback alerts with the deployment and the reasons', async () => {
  const d = await call(running.url, 'POST', '/v1/canary/decision', {
    deployment: { service: 'checkout', version: 'v7', repo: 'acme/repo1', head_sha: 'c0ffee' },
    current_weight: 10,
    elapsed_s: 60,
    risk: 0.1,
    metrics: [
      {
        name: 'errors',
        direction: 'increase',
        critical: true,
        baseline: sample(200, 1, 0.1),
        canary: sample(200, 2, 0.1),
      },
    ],
  });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.action, 'rollback');
  await until(() => kinds().includes('canary_rollback'), 'the canary_rollback alert', 5000);
  const hit = rx.hits.find((h) => h.body.kind === 'canary_rollback')!;
  assert.equal(hit.body.repo, 'acme/repo1');
  assert.match(String(hit.body.message), /checkout v7 rolled back/);
});

test('a pipeline circuit alerts when it opens, not on every later failure', async () => {
  for (let i = 0; i < 5; i++) {
    const c = await call(running.url, 'POST', '/v1/circuits/npm-registry', { event: 'failure' });
    assert.equal(c.status, 200, c.text);
  }
  await until(() => kinds().includes('circuit_open'), 'the circuit_open alert', 5000);
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(rx.hits.filter((h) => h.body.kind === 'circuit_open').length, 1);
});

test('drift gauges are exported in /metrics', async () => {
  const m = await call(running.url, 'GET', '/metrics');
  assert.match(m.text, /^# TYPE riskgate_score_psi gauge$/m);
  assert.match(m.text, /^# TYPE riskgate_feature_psi gauge$/m);
});

test('bad background settings name their variable', () => {
  assert.throws(
    () => backgroundSettings({ RISKGATE_ALERT_MIN_SCORE: '2' }),
    (e: unknown) => e instanceof ConfigError && /RISKGATE_ALERT_MIN_SCORE/.test(e.message),
  );
  assert.throws(
    () => backgroundSettings({ RISKGATE_RETRAIN_CRON: 'every tuesday' }),
    (e: unknown) => e instanceof ConfigError && /RISKGATE_RETRAIN_CRON/.test(e.message),
  );
  assert.throws(
    () => backgroundSettings({ RISKGATE_DRIFT_RETRAIN: 'maybe' }),
    (e: unknown) => e instanceof ConfigError && /RISKGATE_DRIFT_RETRAIN/.test(e.message),
  );
});
