import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { DeferredScorer } from '../../src/serving/deferred.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { call, fixedScorer, serveApp } from './helpers.ts';

const RUN = (i: number, conclusion: string, repo = 'acme/web') => ({
  repo,
  run_id: 100 + i,
  workflow: 'ci',
  created_at: new Date(Date.UTC(2024, 4, 1, 10, i)).toISOString(),
  completed_at: new Date(Date.UTC(2024, 4, 1, 10, i, 30)).toISOString(),
  conclusion,
});

test('POST /v1/risk answers probability, level, model, factors and policy', async () => {
  const s = await serveApp({ scorer: fixedScorer(0.82) });
  try {
    const r = await call(s.url, 'POST', '/v1/risk', {
      repo: 'acme/web',
      files: ['package-lock.json', 'src/a.ts'],
      head_branch: 'main',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.probability, 0.82);
    assert.equal(r.body.risk_level, 'high');
    assert.deepEqual(r.body.model, { id: 'test-model', version: 'v1', kind: 'gbdt' });
    assert.equal(r.body.degraded, false);
    assert.equal(r.body.factors[0].feature, 'fail_rate_20');
    assert.equal(r.body.policy.strategy.name, 'conservative');
    assert.equal(r.body.policy.strategy.env.EXTRA_RETRIES, 'true');
    assert.ok(r.body.policy.retry.max_attempts >= 4);
    const actions = r.body.policy.mitigations.map((m: { action: string }) => m.action);
    assert.ok(actions.includes('warm_cache_preemptively'), 'lockfile change at high risk warms the cache');
    assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', 'helmet headers are set');
  } finally {
    await s.close();
  }
});

test('risk thresholds are configurable and created_at defaults to now', async () => {
  const scorer = fixedScorer(0.8);
  const s = await serveApp({ scorer, env: { RISKGATE_RISK_HIGH: '0.9', RISKGATE_RISK_MEDIUM: '0.5' } });
  try {
    const r = await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    assert.equal(r.body.risk_level, 'medium');
    const age = Date.now() - Date.parse(scorer.calls[0].created_at!);
    assert.ok(age >= 0 && age < 60_000, `created_at defaulted to now (age ${age} ms)`);
  } finally {
    await s.close();
  }
});

test('a proxy-supplied request id is echoed, a malformed one replaced', async () => {
  const s = await serveApp();
  try {
    const ok = await call(s.url, 'GET', '/live', undefined, { 'x-request-id': 'abc-123' });
    assert.equal(ok.headers.get('x-request-id'), 'abc-123');
    const bad = await call(s.url, 'GET', '/live', undefined, { 'x-request-id': 'a b<script>' });
    assert.notEqual(bad.headers.get('x-request-id'), 'a b<script>');
  } finally {
    await s.close();
  }
});

test('fallback: without a model the rule-based scorer answers degraded and reads the latest outcomes (feedback loop)', async () => {
  const store = openStore(':memory:');
  const s = await serveApp({ store, scorer: createFallbackScorer({ store }) });
  try {
    const ask = { repo: 'acme/web', created_at: '2024-05-01T14:00:00Z' };
    const before = await call(s.url, 'POST', '/v1/risk', ask);
    assert.equal(before.status, 200);
    assert.equal(before.body.degraded, true);
    assert.equal(before.body.model.kind, 'rules');
    assert.equal(before.body.attribution, 'rules');
    const wrong = await call(s.url, 'POST', '/v1/risk', { ...ask, attribution: 'shapley' });
    assert.equal(wrong.status, 400);
    assert.ok(
      wrong.body.details.some((d: { path: string }) => d.path === 'attribution'),
      JSON.stringify(wrong.body),
    );
    for (let i = 0; i < 6; i++)
      assert.equal((await call(s.url, 'POST', '/v1/outcomes', RUN(i, 'failure'))).status, 200);
    const after = await call(s.url, 'POST', '/v1/risk', ask);
    assert.ok(
      after.body.probability > before.body.probability + 0.2,
      `${before.body.probability} → ${after.body.probability}`,
    );
    assert.equal(after.body.factors[0].feature, 'fail_rate_20');
    const m = await call(s.url, 'GET', '/metrics');
    assert.match(m.text, /riskgate_fallback_answers_total 2/);
  } finally {
    await s.close();
  }
});

test('a scorer that throws is answered by the fallback, not a 500', async () => {
  const broken = { ...fixedScorer(0.5), score: async () => Promise.reject(new Error('model exploded')) };
  const s = await serveApp({ scorer: broken });
  try {
    const r = await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    assert.equal(r.status, 200);
    assert.equal(r.body.degraded, true);
    const nan = await serveApp({ scorer: fixedScorer(NaN) });
    const r2 = await call(nan.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    await nan.close();
    assert.equal(r2.status, 200);
    assert.equal(r2.body.degraded, true);
  } finally {
    await s.close();
  }
});

test('POST /v1/outcomes is idempotent and accepts batches', async () => {
  const s = await serveApp();
  try {
    const first = await call(s.url, 'POST', '/v1/outcomes', RUN(1, 'success'));
    assert.deepEqual(first.body, { inserted: 1, updated: 0, unchanged: 0 });
    const again = await call(s.url, 'POST', '/v1/outcomes', RUN(1, 'success'));
    assert.deepEqual(again.body, { inserted: 0, updated: 0, unchanged: 1 });
    const batch = await call(s.url, 'POST', '/v1/outcomes', { runs: [RUN(1, 'success'), RUN(2, 'failure')] });
    assert.deepEqual(batch.body, { inserted: 1, updated: 0, unchanged: 1 });
    assert.equal(s.store.countRuns('acme/web'), 2);
    const unfinished = await call(s.url, 'POST', '/v1/outcomes', { ...RUN(3, 'success'), conclusion: null });
    assert.equal(unfinished.status, 400);
    assert.ok(unfinished.body.details.some((d: { path: string }) => d.path === 'conclusion'));
    assert.equal(s.store.countRuns('acme/web'), 2, 'a rejected record is not stored');
  } finally {
    await s.close();
  }
});

test('circuits over HTTP: failures open the circuit for every caller, with the cooldown left', async () => {
  const s = await serveApp({ env: { RISKGATE_CIRCUIT_FAILURES: '3', RISKGATE_CIRCUIT_COOLDOWN_S: '60' } });
  try {
    const fresh = await call(s.url, 'GET', '/v1/circuits/npm-registry');
    assert.equal(fresh.body.state, 'closed');
    assert.equal(fresh.body.allowed, true);
    for (let i = 0; i < 3; i++) await call(s.url, 'POST', '/v1/circuits/npm-registry', { event: 'failure' });
    const open = await call(s.url, 'GET', '/v1/circuits/npm-registry');
    assert.equal(open.body.state, 'open');
    assert.equal(open.body.allowed, false);
    assert.ok(open.body.cooldown_remaining_ms > 55_000 && open.body.cooldown_remaining_ms <= 60_000);
    const attempt = await call(s.url, 'POST', '/v1/circuits/npm-registry', { event: 'attempt' });
    assert.equal(attempt.body.allowed, false);
    const list = await call(s.url, 'GET', '/v1/circuits');
    assert.deepEqual(
      list.body.circuits.map((c: { name: string }) => c.name),
      ['npm-registry'],
    );
    assert.equal(s.store.getCircuit('npm-registry')?.state, 'open', 'state lives in the store');
  } finally {
    await s.close();
  }
});

test('/live, /ready and /health follow the scorer and the store', async () => {
  const store = openStore(':memory:');
  const deferred = new DeferredScorer();
  const s = await serveApp({ store, scorer: deferred });
  try {
    assert.equal((await call(s.url, 'GET', '/live')).status, 200);
    const notReady = await call(s.url, 'GET', '/ready');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.model, false);
    const loading = await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    assert.equal(loading.status, 503);
    assert.equal(loading.body.error, 'not_ready');
    assert.equal(loading.headers.get('retry-after'), '2');
    deferred.set(fixedScorer(0.1));
    assert.equal((await call(s.url, 'GET', '/ready')).status, 200);
    const h = await call(s.url, 'GET', '/health');
    assert.equal(h.status, 200);
    assert.equal(h.body.status, 'ok');
    assert.equal(h.body.model.id, 'test-model');
    store.ping = () => {
      throw new Error('disk gone');
    };
    const down = await call(s.url, 'GET', '/ready');
    assert.equal(down.status, 503);
    assert.equal(down.body.store, false);
    const hd = await call(s.url, 'GET', '/health');
    assert.equal(hd.status, 503);
    assert.equal(hd.body.status, 'unavailable');
    assert.match(hd.body.store.error, /disk gone/);
  } finally {
    await s.close();
  }
});

test('/metrics exposes request counts, latency, predictions by level and the model version', async () => {
  const s = await serveApp({ scorer: fixedScorer(0.9, 'v7') });
  try {
    await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    await call(s.url, 'POST', '/v1/risk', { repo: 'bad' });
    const m = await call(s.url, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(m.text, /riskgate_http_requests_total\{method="POST",route="\/v1\/risk",status="200"\} 1/);
    assert.match(m.text, /riskgate_http_requests_total\{method="POST",route="\/v1\/risk",status="400"\} 1/);
    assert.match(
      m.text,
      /riskgate_http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/v1\/risk"\}/,
    );
    assert.match(m.text, /riskgate_predictions_total\{risk_level="high"\} 1/);
    assert.match(m.text, /riskgate_model_info\{id="test-model",version="v7",kind="gbdt"\} 1/);
  } finally {
    await s.close();
  }
});

test('/metrics can be put behind an admin key', async () => {
  const s = await serveApp({
    env: {
      RISKGATE_API_KEYS: 'ops:admin:ops-token-0123456789,ci:score:ci-token-0123456789',
      RISKGATE_METRICS_AUTH: 'true',
    },
  });
  try {
    assert.equal((await call(s.url, 'GET', '/metrics')).status, 401);
    assert.equal(
      (await call(s.url, 'GET', '/metrics', undefined, { authorization: 'Bearer ci-token-0123456789' })).status,
      403,
    );
    assert.equal(
      (await call(s.url, 'GET', '/metrics', undefined, { authorization: 'Bearer ops-token-0123456789' })).status,
      200,
    );
    assert.equal((await call(s.url, 'GET', '/health')).status, 200, 'health stays open');
  } finally {
    await s.close();
  }
});

test('answered risk checks are logged for the dashboard in batches, not one write per request', async () => {
  const { createRiskLog, RISK_EVENT } = await import('../../src/serving/risk-log.ts');
  const store = openStore(':memory:');
  const riskLog = createRiskLog(store, { intervalMs: 60_000 });
  const s = await serveApp({ store, scorer: fixedScorer(0.64), riskLog });
  try {
    for (const sha of ['aaa111', 'bbb222'])
      assert.equal((await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web', head_sha: sha })).status, 200);
    assert.equal(store.listEvents(RISK_EVENT).length, 0, 'nothing written per request');
    riskLog.flush();
    const events = store.listEvents(RISK_EVENT);
    assert.deepEqual(events.map((e) => e.payload.head_sha).sort(), ['aaa111', 'bbb222']);
    assert.equal(events[0].payload.probability, 0.64);
    assert.equal(events[0].payload.risk_level, 'medium');
    assert.equal((events[0].payload.model as { id: string }).id, 'test-model');
  } finally {
    await s.close();
    store.close();
  }
});
