/**
 * Issue 16.2 / 16.3: one tenant must not steer another's rollout or poison its training data. Everything
 * runs through the real app (authentication, key bindings, canary and dashboard routers).
 *
 * The attack of 16.2: a CI key posted decisions for `prod/payments@chk-777`, and the real confirm-promotion
 * hook then answered 200 while the canary was 10× slower, because the hook reused the cached decision.
 * The attack of 16.3: 60 outcome posts with a score key stored 60 failure runs for a repo (its risk moved
 * from 0.198 to 0.474).
 */
import { DEFAULT_CRON } from '../../src/config/background.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requireScope } from '../../src/api/auth.ts';
import { globMatch } from '../../src/tenancy.ts';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { loadConfig } from '../../src/config.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { createApp } from '../../src/app.ts';
import { isFlaggerHookPath } from '../../src/canary/router.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, fixedScorer, silent } from '../api/helpers.ts';

const TOKENS = {
  flagger: 'flagger-payments-token-0001', // score, bound to prod/payments*
  ciWeb: 'ci-web-token-000000000000001', // score, bound to web* and repo acme/web
  ciFree: 'ci-free-token-00000000000001', // score, unbound
  reporter: 'reporter-token-0000000000001', // score + report, unbound
  history: 'history-web-token-0000000001', // score + report, bound to repo acme/web
};
const env = {
  RISKGATE_LOG_LEVEL: 'silent',
  RISKGATE_API_KEYS: [
    `payments-flagger:score:${TOKENS.flagger}`,
    `ci-web:score:${TOKENS.ciWeb}`,
    `ci-free:score:${TOKENS.ciFree}`,
    `reporter:score+report:${TOKENS.reporter}`,
    `history-web:score+report:${TOKENS.history}`,
  ].join(','),
  RISKGATE_KEY_BINDINGS:
    'payments-flagger=service:prod/payments*; ci-web=service:web*,repo:acme/web; history-web=service:*,repo:acme/web',
};
const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
/** POST with a bearer key, as a pipeline or operator would. */
const postAs = (path: string, body: unknown, token: string) => call(srv.url, 'POST', path, body, auth(token));

const r = mulberry32(162);
const lat = (n: number, center: number) => Array.from({ length: n }, () => center * Math.exp(0.1 * normal(r)));
const good = () => [
  { name: 'latency', direction: 'increase', critical: true, baseline: lat(300, 100), canary: lat(300, 100) },
];
const tenTimesSlower = () => [
  { name: 'latency', direction: 'increase', critical: true, baseline: lat(300, 100), canary: lat(300, 1000) },
];

let srv: { url: string; store: ReturnType<typeof openStore>; server: Server };
let modelsDir: string;
before(async () => {
  const config = loadConfig(env);
  const store = openStore(':memory:');
  modelsDir = mkdtempSync(join(tmpdir(), 'rg-tenancy-'));
  // As `riskgate serve` wires it: Flagger hook paths may come without a header (their key is in the body).
  const app = createApp({
    store,
    config,
    scorer: fixedScorer(0.2),
    logger: silent,
    defaultMetrics: false,
    anonymousOk: isFlaggerHookPath,
    extraRouters: [
      createCanaryRouter({ store, apiKeys: config.apiKeys }),
      createDashboardRouter({ store, modelsDir, requireScope, authRequired: true, cron: DEFAULT_CRON }),
    ],
  });
  const server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  srv = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store, server };
});
after(() => {
  srv.server.closeAllConnections();
  srv.server.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

const decision = (service: string, version: string, metrics: unknown, extra: Record<string, unknown> = {}) => ({
  deployment: { service, version },
  current_weight: 50,
  elapsed_s: 60,
  risk: 0.05,
  metrics,
  ...extra,
});
// Flagger's payload (pkg/apis/flagger/v1beta1/canary.go CanaryWebhookPayload): no headers, the key in metadata.
const flaggerHook = (hook: string, metadata: Record<string, string>) =>
  call(srv.url, 'POST', `/v1/canary/flagger/${hook}`, {
    name: 'payments',
    namespace: 'prod',
    phase: 'Progressing',
    checksum: 'chk-777',
    metadata,
  });

test('the attack: decisions posted for prod/payments@chk-777 do not make confirm-promotion pass a 10× slower canary', async () => {
  // An unbound CI key may post decisions for any service it is first to write — but they are its own
  // rollout's evidence, never what a Flagger gate reads.
  for (let i = 0; i < 5; i++) {
    const res = await postAs('/v1/canary/decision', decision('prod/payments', 'chk-777', good()), TOKENS.ciFree);
    assert.equal(res.status, 200);
  }
  // A bound CI key cannot write there at all.
  const bound = await postAs('/v1/canary/decision', decision('prod/payments', 'chk-777', good()), TOKENS.ciWeb);
  assert.equal(bound.status, 403);
  assert.match(bound.body.message, /not bound to service "prod\/payments"/);
  // The real gate judges the evidence it is given: the canary is 10× slower.
  const gate = await flaggerHook('confirm-promotion', {
    token: TOKENS.flagger,
    service: 'prod/payments',
    risk: '0.05',
    metrics: JSON.stringify(tenTimesSlower()),
  });
  assert.equal(gate.status, 409, JSON.stringify(gate.body));
  assert.equal(gate.body.allowed, false);
  assert.equal(gate.body.verdict, 'fail');
  const rollback = await flaggerHook('rollback', {
    token: TOKENS.flagger,
    service: 'prod/payments',
    risk: '0.05',
    metrics: JSON.stringify(tenTimesSlower()),
  });
  assert.equal(rollback.status, 200, 'and the rollback hook asks Flagger to roll back');
});

test("another key's posts for a Flagger rollout neither block its post-rollout nor choose whose history it becomes", async () => {
  const evil = await postAs(
    '/v1/canary/decision',
    decision('prod/payments', 'chk-888', good(), {
      deployment: { service: 'prod/payments', version: 'chk-888', repo: 'acme/evil' },
    }),
    TOKENS.ciFree,
  );
  assert.equal(evil.status, 200);
  const body = {
    name: 'payments',
    namespace: 'prod',
    phase: 'Failed',
    checksum: 'chk-888',
    metadata: { token: TOKENS.flagger, service: 'prod/payments' },
  };
  const post = await call(srv.url, 'POST', '/v1/canary/flagger/post-rollout', body);
  assert.equal(post.status, 200, JSON.stringify(post.body));
  assert.equal(post.body.outcome, 'rolled_back');
  assert.equal(post.body.training_record, false);
  const ev = srv.store
    .listEvents('canary_outcome', { key: 'prod/payments' })
    .find((e) => e.payload.version === 'chk-888');
  assert.equal(ev?.payload.repo, null, "the other key's repo is not taken");
});

test('a Flagger hook authenticates with metadata.token; a wrong token or none is 401, and the token is never stored', async () => {
  const none = await flaggerHook('rollout', { service: 'prod/payments', metrics: JSON.stringify(good()) });
  assert.equal(none.status, 401);
  assert.match(none.body.message, /metadata \(`token`\)/);
  const wrong = await flaggerHook('rollout', {
    token: 'not-a-key-0000000000',
    service: 'prod/payments',
    metrics: JSON.stringify(good()),
  });
  assert.equal(wrong.status, 401);
  const ok = await flaggerHook('rollout', {
    token: TOKENS.flagger,
    service: 'prod/payments',
    risk: '0.05',
    metrics: JSON.stringify(good()),
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  // A key bound elsewhere cannot gate this service even with a valid token.
  const other = await flaggerHook('rollout', {
    token: TOKENS.ciWeb,
    service: 'prod/payments',
    metrics: JSON.stringify(good()),
  });
  assert.equal(other.status, 403);
  const stored = JSON.stringify([
    ...srv.store.listEvents('canary_decision', { limit: 1000 }),
    ...srv.store.listEvents('canary_pre_rollout', { limit: 1000 }),
  ]);
  for (const t of Object.values(TOKENS)) assert.ok(!stored.includes(t), 'no token in the event log');
});

test('a rollout belongs to the key that wrote its first decision: another key (even with report) gets 403', async () => {
  const first = await postAs('/v1/canary/decision', decision('web-shop', 'v9', good()), TOKENS.ciWeb);
  assert.equal(first.status, 200);
  const other = await postAs('/v1/canary/decision', decision('web-shop', 'v9', good()), TOKENS.reporter);
  assert.equal(other.status, 403);
  assert.match(other.body.message, /belongs to another API key/);
  assert.doesNotMatch(other.body.message, /ci-web/, 'the owner is not named');
  const argo = await postAs('/v1/canary/argo', decision('web-shop', 'v9', good()), TOKENS.ciFree);
  assert.equal(argo.status, 403, 'the Argo route applies the same rule');
  const outcome = await postAs(
    '/v1/canary/outcome',
    { service: 'web-shop', version: 'v9', outcome: 'rolled_back' },
    TOKENS.ciFree,
  );
  assert.equal(outcome.status, 403, 'so does the outcome');
  const again = await postAs('/v1/canary/decision', decision('web-shop', 'v9', good()), TOKENS.ciWeb);
  assert.equal(again.status, 200, 'the owner goes on writing');
});

test('/ui/api/canary: a score key lists only the rollouts it may see; report lists all', async () => {
  await postAs('/v1/canary/decision', decision('free-svc', 'v1', good()), TOKENS.ciFree);
  const services = async (t: string) => {
    const res = await call(srv.url, 'GET', '/ui/api/canary?limit=500', undefined, auth(t));
    assert.equal(res.status, 200);
    return res.body.services as string[];
  };
  assert.deepEqual(await services(TOKENS.ciWeb), ['web-shop'], 'bound: its services only');
  assert.deepEqual(await services(TOKENS.ciFree), ['free-svc', 'prod/payments'], 'unbound: the rollouts it owns');
  assert.deepEqual(await services(TOKENS.flagger), ['prod/payments'], 'bound: its services, whoever wrote them');
  const all = await services(TOKENS.reporter);
  for (const s of ['free-svc', 'prod/payments', 'web-shop']) assert.ok(all.includes(s));
});

test('the poisoning attack: 60 outcome posts with a score key store no run history', async () => {
  const before = [...srv.store.iterateRuns({ repo: 'acme/web' })].length;
  for (let i = 0; i < 60; i++) {
    const res = await postAs(
      '/v1/canary/outcome',
      { service: `web-p${i}`, version: 'v1', outcome: 'rolled_back', repo: 'acme/web' },
      TOKENS.ciWeb,
    );
    assert.equal(res.status, 403);
    assert.match(res.body.message, /"report" scope/);
  }
  assert.equal([...srv.store.iterateRuns({ repo: 'acme/web' })].length, before, 'not one failure run was stored');
  // A repo inferred from the rollout's decisions is not training data for a score-only key either.
  await postAs(
    '/v1/canary/decision',
    decision('web-inferred', 'v1', good(), {
      deployment: { service: 'web-inferred', version: 'v1', repo: 'acme/web' },
    }),
    TOKENS.ciWeb,
  );
  const inferred = await postAs(
    '/v1/canary/outcome',
    { service: 'web-inferred', version: 'v1', outcome: 'rolled_back' },
    TOKENS.ciWeb,
  );
  assert.equal(inferred.status, 201);
  assert.equal(inferred.body.training_record, false);
  assert.equal([...srv.store.iterateRuns({ repo: 'acme/web' })].length, before);
});

test('run history needs the report scope and, for a repo-bound key, the repo (canary outcome and /v1/outcomes)', async () => {
  const outside = await postAs(
    '/v1/canary/outcome',
    { service: 'x', version: 'v1', outcome: 'rolled_back', repo: 'acme/payments' },
    TOKENS.history,
  );
  assert.equal(outside.status, 403);
  assert.match(outside.body.message, /not bound to repo "acme\/payments"/);
  const inside = await postAs(
    '/v1/canary/outcome',
    { service: 'x', version: 'v1', outcome: 'promoted', repo: 'acme/web' },
    TOKENS.history,
  );
  assert.equal(inside.status, 201);
  assert.equal(inside.body.training_record, true);
  const run = (repo: string, id: number) => ({
    repo,
    run_id: id,
    created_at: '2026-12-01T00:00:00Z',
    conclusion: 'failure',
  });
  const mixed = await call(
    srv.url,
    'POST',
    '/v1/outcomes',
    { runs: [run('acme/web', 1), run('acme/payments', 2)] },
    auth(TOKENS.history),
  );
  assert.equal(mixed.status, 403);
  assert.equal([...srv.store.iterateRuns({ repo: 'acme/payments' })].length, 0, 'nothing of the batch is stored');
  assert.equal(
    (await call(srv.url, 'POST', '/v1/outcomes', { runs: [run('acme/web', 3)] }, auth(TOKENS.history))).status,
    200,
  );
  assert.equal(
    (await call(srv.url, 'POST', '/v1/outcomes', run('acme/payments', 4), auth(TOKENS.reporter))).status,
    200,
    'an unbound report key writes any repo',
  );
});

test('RISKGATE_KEY_BINDINGS: globs, and configuration errors name the variable', () => {
  assert.ok(globMatch('prod/payments*', 'prod/payments-eu'));
  assert.ok(!globMatch('prod/payments*', 'staging/prod/payments'));
  assert.ok(globMatch('*/payments', 'prod/payments') && globMatch('a*b*c', 'a-b-b-c') && !globMatch('a*b*c', 'a-c'));
  assert.ok(globMatch('acme/web', 'acme/web') && !globMatch('acme/web', 'acme/web2'));
  assert.throws(
    () => loadConfig({ ...env, RISKGATE_KEY_BINDINGS: 'nobody=service:x' }),
    /RISKGATE_KEY_BINDINGS: no API key named "nobody"/,
  );
  assert.throws(
    () => loadConfig({ ...env, RISKGATE_KEY_BINDINGS: 'ci-web=team:x' }),
    /RISKGATE_KEY_BINDINGS: key "ci-web"/,
  );
  assert.throws(
    () => loadConfig({ ...env, RISKGATE_KEY_BINDINGS: 'ci-web=service:a; ci-web=repo:b/c' }),
    /bound twice/,
  );
});

test('the binding examples in README and docs/canary.md parse and mean what they say', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const tenancy = readme.slice(readme.indexOf('### Tenancy'), readme.indexOf('## Configuration'));
  const example = /`(flagger-payments=[^`]+)`/.exec(tenancy)?.[1];
  assert.ok(example, 'README tenancy example');
  const keys = 'flagger-payments:score:tok-flagger-000000001,ci-web:score:tok-ci-web-0000000001';
  const cfg = loadConfig({ RISKGATE_API_KEYS: keys, RISKGATE_KEY_BINDINGS: example });
  const [flagger, ci] = cfg.apiKeys;
  assert.deepEqual([flagger.services, flagger.repos], [['prod/payments*'], []]);
  assert.deepEqual([ci.services, ci.repos], [['web*'], ['acme/web']]);
  const docs = readFileSync(new URL('../../docs/canary.md', import.meta.url), 'utf8');
  const docBinding = /`RISKGATE_KEY_BINDINGS=([^`]+)`/.exec(docs)?.[1];
  assert.ok(docBinding, 'docs/canary.md binding example');
  const f = loadConfig({ RISKGATE_API_KEYS: 'flagger:score:tok-flagger-000000001', RISKGATE_KEY_BINDINGS: docBinding })
    .apiKeys[0];
  assert.deepEqual(f.services, ['shop/*']);
});
