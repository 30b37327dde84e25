/**
 * Scope isolation, table-driven, against the service exactly as `riskgate serve` wires it (startServer):
 * a key with one scope reaches exactly that scope's routes and gets 403 on every other scope's routes;
 * no key or a wrong key gets 401 on every authenticated route; open routes stay open. The table is also
 * checked against the README's API table, so the two cannot drift apart silently.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { requireScope } from '../../src/api/auth.ts';
import { createReportRouter } from '../../src/report/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { call, fixedScorer, serveApp, silent, testConfig, type TestServer } from '../api/helpers.ts';
import { randomHistory } from '../support/runs.ts';

type Scope = 'score' | 'report' | 'admin';
const TOKENS: Record<Scope, string> = {
  score: 'score-only-token-0123456789',
  report: 'report-only-token-0123456789',
  admin: 'admin-only-token-0123456789',
};
const WRONG = 'not-a-configured-token-0123456789';
const KEYS = (Object.entries(TOKENS) as [Scope, string][]).map(([s, t]) => `${s}-key:${s}:${t}`).join(',');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

interface Route {
  method: 'GET' | 'POST';
  /** README spelling, `{param}` for a path parameter. */
  route: string;
  /** Concrete path to call. */
  path: () => string;
  scope: Scope;
  body?: () => unknown;
}

let modelsDir: string;
let championId: string;
let challengerId: string;
const metrics = [{ name: 'error_rate', baseline: [0.01, 0.011, 0.012, 0.01], canary: [0.01, 0.011, 0.012, 0.0105] }];
const decision = () => ({ deployment: { service: 'checkout', version: 'v1' }, current_weight: 10, risk: 0.1, metrics });
const judge = () => ({
  canaryConfig: { metrics: [{ name: 'm' }] },
  scoreThresholds: { pass: 75, marginal: 50 },
  metricSetPairList: [{ name: 'm', values: { control: [1, 2, 3], experiment: [1, 2, 3] } }],
});
const run = { repo: 'acme/web', run_id: 777_001, created_at: '2024-06-01T00:00:00Z', conclusion: 'success' };

/** Every authenticated route of the README table and of the routers (src/app.ts, src/*\/router.ts). */
const ROUTES: Route[] = [
  { method: 'POST', route: '/v1/risk', path: () => '/v1/risk', scope: 'score', body: () => ({ repo: 'acme/web' }) },
  { method: 'POST', route: '/v1/canary/decision', path: () => '/v1/canary/decision', scope: 'score', body: decision },
  {
    method: 'GET',
    route: '/v1/canary/argo',
    path: () =>
      `/v1/canary/argo?service=checkout&version=v1&weight=10&risk=0.1&metrics=${encodeURIComponent(JSON.stringify(metrics))}`,
    scope: 'score',
  },
  { method: 'POST', route: '/v1/canary/argo', path: () => '/v1/canary/argo', scope: 'score', body: decision },
  {
    method: 'POST',
    route: '/v1/canary/flagger/{hook}',
    path: () => '/v1/canary/flagger/pre-rollout',
    scope: 'score',
    body: () => ({ name: 'podinfo', namespace: 'test', metadata: { risk: '0.1' } }),
  },
  { method: 'POST', route: '/judge', path: () => '/judge', scope: 'score', body: judge },
  {
    method: 'POST',
    route: '/v1/canary/kayenta/judge',
    path: () => '/v1/canary/kayenta/judge',
    scope: 'score',
    body: judge,
  },
  {
    method: 'POST',
    route: '/v1/canary/outcome',
    path: () => '/v1/canary/outcome',
    scope: 'score',
    body: () => ({ service: 'checkout', version: 'v1', outcome: 'promoted' }),
  },
  { method: 'GET', route: '/v1/models', path: () => '/v1/models', scope: 'score' },
  { method: 'GET', route: '/v1/models/{id}', path: () => `/v1/models/${championId}`, scope: 'score' },
  { method: 'GET', route: '/v1/shadow', path: () => '/v1/shadow', scope: 'score' },
  { method: 'GET', route: '/v1/jobs', path: () => '/v1/jobs', scope: 'score' },
  { method: 'GET', route: '/v1/drift', path: () => '/v1/drift', scope: 'score' },
  { method: 'GET', route: '/ui/api/overview', path: () => '/ui/api/overview', scope: 'score' },
  { method: 'GET', route: '/ui/api/model', path: () => '/ui/api/model', scope: 'score' },
  { method: 'GET', route: '/ui/api/risk/{id}', path: () => '/ui/api/risk/0123456789abcdef', scope: 'score' },
  { method: 'GET', route: '/ui/api/canary', path: () => '/ui/api/canary', scope: 'score' },
  { method: 'GET', route: '/ui/api/jobs', path: () => '/ui/api/jobs', scope: 'score' },
  { method: 'GET', route: '/ui/api/reports', path: () => '/ui/api/reports', scope: 'score' },
  { method: 'POST', route: '/v1/outcomes', path: () => '/v1/outcomes', scope: 'report', body: () => run },
  { method: 'GET', route: '/v1/circuits', path: () => '/v1/circuits', scope: 'report' },
  { method: 'GET', route: '/v1/circuits/{name}', path: () => '/v1/circuits/npm', scope: 'report' },
  {
    method: 'POST',
    route: '/v1/circuits/{name}',
    path: () => '/v1/circuits/npm',
    scope: 'report',
    body: () => ({ event: 'success' }),
  },
  { method: 'GET', route: '/v1/canary/rollouts', path: () => '/v1/canary/rollouts', scope: 'report' },
  {
    method: 'GET',
    route: '/v1/canary/rollouts/{service}',
    path: () => '/v1/canary/rollouts/checkout',
    scope: 'report',
  },
  {
    method: 'POST',
    route: '/v1/models/{id}/promote',
    path: () => `/v1/models/${challengerId}/promote`,
    scope: 'admin',
    body: () => ({ reason: 'scope test' }),
  },
  {
    method: 'POST',
    route: '/v1/models/rollback',
    path: () => '/v1/models/rollback',
    scope: 'admin',
    body: () => ({ reason: 'scope test' }),
  },
  {
    method: 'POST',
    route: '/v1/models/{id}/trial',
    path: () => `/v1/models/${challengerId}/trial`,
    scope: 'admin',
    body: () => ({ reason: 'scope test' }),
  },
  {
    method: 'POST',
    route: '/v1/models/trial/end',
    path: () => '/v1/models/trial/end',
    scope: 'admin',
    body: () => ({ reason: 'scope test' }),
  },
];
const REPORT_ROUTES: Route[] = [
  { method: 'GET', route: '/v1/reports/dora', path: () => '/v1/reports/dora?repo=acme/web', scope: 'score' },
  { method: 'GET', route: '/v1/reports/flaky', path: () => '/v1/reports/flaky?repo=acme/web', scope: 'score' },
];
const OPEN = ['/health', '/live', '/ready', '/metrics', '/openapi.json'];
const SHELL = ['/', '/ui', '/ui/models'];

let dir: string;
let store: Store;
let running: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rg-scopes-'));
  modelsDir = join(dir, 'models');
  store = openStore(join(dir, 'riskgate.db'));
  store.upsertRuns(randomHistory(5, 200));
  championId = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: true })).manifest.id;
  challengerId = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest.id;
  // This suite sends hundreds of wrong keys from one address on purpose; failed-auth limiting (429) has its
  // own test (test/api/auth-failures.test.ts), so its burst is raised here like the request rate's.
  running = await startServer(
    testConfig({
      PORT: '0',
      RISKGATE_HOST: '127.0.0.1',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: modelsDir,
      RISKGATE_API_KEYS: KEYS,
      RISKGATE_RATE_BURST: '100000',
      RISKGATE_AUTH_FAILURE_BURST: '100000',
    }),
    { logger: silent, store, scorer: fixedScorer(0.2), bootstrap: false },
  );
  await running.loaded;
});
after(async () => {
  await running?.shutdown();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request the scope check let through: anything but 401/403-for-scope, and not "no such route". */
function assertReached(r: { status: number; body: any; text: string }, what: string): void {
  assert.ok(
    r.status !== 401 && !(r.status === 403 && r.body?.error === 'forbidden'),
    `${what}: ${r.status} ${r.text.slice(0, 200)}`,
  );
  assert.ok(
    !(r.status === 404 && /^no (dashboard )?route/.test(r.body?.message ?? '')),
    `${what}: not mounted (${r.text.slice(0, 200)})`,
  );
  assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
}
function assertForbidden(r: { status: number; body: any; text: string }, scope: Scope, what: string): void {
  assert.equal(r.status, 403, `${what}: ${r.text.slice(0, 200)}`);
  assert.equal(r.body.error, 'forbidden', what);
  assert.match(r.body.message, new RegExp(`"${scope}" scope`), what);
}
function assertUnauthorized(r: { status: number; body: any; text: string; headers: Headers }, what: string): void {
  assert.equal(r.status, 401, `${what}: ${r.text.slice(0, 200)}`);
  assert.equal(r.body.error, 'unauthorized', what);
  assert.equal(typeof r.body.message, 'string', what);
}

async function checkTable(base: string, routes: Route[], snapshot: () => number): Promise<void> {
  for (const key of Object.keys(TOKENS) as Scope[]) {
    for (const r of routes) {
      const what = `${key} key → ${r.method} ${r.route}`;
      const before = snapshot();
      const res = await call(base, r.method, r.path(), r.body?.(), bearer(TOKENS[key]));
      if (r.scope === key) assertReached(res, what);
      else {
        assertForbidden(res, r.scope, what);
        assert.equal(snapshot(), before, `${what}: a forbidden request changed the store`);
      }
    }
  }
  for (const r of routes) {
    for (const [label, headers] of [
      ['no key', {}],
      ['wrong key', bearer(WRONG)],
      ['malformed header', { authorization: `Token ${TOKENS[r.scope]}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
    ] as [string, Record<string, string>][]) {
      const res = await call(base, r.method, r.path(), r.body?.(), headers);
      assertUnauthorized(res, `${label} → ${r.method} ${r.route}`);
    }
  }
}

/** Rows of audit + events + runs: a cheap "did anything get written" figure. */
const written = () =>
  store.listAudit(1_000_000).length +
  store.countRuns() +
  ['canary_decision', 'canary_kayenta_judge', 'canary_outcome', 'canary_pre_rollout'].reduce(
    (n, k) => n + store.listEvents(k, { limit: 1_000_000 }).length,
    0,
  );

test('each single-scope key reaches exactly its own scope; 403 elsewhere (and nothing is written); 401 without or with a wrong key', async () => {
  await checkTable(running.url, ROUTES, written);
});

test('open routes stay open: without a key, with a wrong key, with any scope', async () => {
  for (const p of OPEN) {
    for (const headers of [{}, bearer(WRONG), ...Object.values(TOKENS).map(bearer)]) {
      const r = await call(running.url, 'GET', p, undefined, headers);
      assert.equal(r.status, 200, `${p} ${JSON.stringify(headers)}: ${r.text.slice(0, 200)}`);
    }
  }
  // The dashboard shell and its session call hold no data and need no key; a wrong key is still rejected.
  for (const p of [...SHELL, '/ui/api/session']) {
    assert.equal((await call(running.url, 'GET', p)).status, 200, p);
    assertUnauthorized(await call(running.url, 'GET', p, undefined, bearer(WRONG)), `wrong key → ${p}`);
  }
  const session = await call(running.url, 'GET', '/ui/api/session');
  assert.equal(session.body.auth_required, true);
  // Anonymous access to the shell does not open the data behind it.
  assertUnauthorized(await call(running.url, 'GET', '/ui/api/overview'), 'no key → /ui/api/overview');
});

test('the report router enforces the score scope when given requireScope', async () => {
  const s: TestServer = await serveApp({
    store,
    env: { RISKGATE_API_KEYS: KEYS },
    extraRouters: [createReportRouter({ store, requireScope })],
  });
  try {
    await checkTable(s.url, REPORT_ROUTES, written);
  } finally {
    await s.close();
  }
});

test('startServer serves /v1/reports/dora and /flaky with the score scope, as the README says', async () => {
  await checkTable(running.url, REPORT_ROUTES, written);
});

test("the README's API table names the same scope as the code for every route it lists", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## API'), readme.indexOf('## Configuration'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.ok(rows.length >= 6, 'found the API table');
  const documented = new Map<string, string[]>();
  for (const row of rows) {
    const [routes, scope] = row
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    const scopes = scope.split('/').map((s) => s.trim());
    for (const m of routes.matchAll(/`(?:(?:GET\/POST|GET|POST) )?(\/[^`\s]*)`/g)) documented.set(m[1], scopes);
  }
  const code = new Map<string, Set<string>>();
  for (const r of [...ROUTES, ...REPORT_ROUTES]) code.set(r.route, (code.get(r.route) ?? new Set()).add(r.scope));
  for (const p of OPEN) code.set(p, new Set(['open']));
  for (const [route, scopes] of documented) {
    const actual = code.get(route);
    assert.ok(actual, `README lists ${route}, which the table of this test does not cover`);
    for (const s of actual)
      assert.ok(scopes.includes(s), `${route}: README says ${scopes.join(' / ')}, code requires ${s}`);
  }
  // Spot-check the parse itself, so an edit that breaks it cannot make this test vacuous.
  assert.deepEqual(documented.get('/v1/risk'), ['score']);
  assert.deepEqual(documented.get('/v1/circuits/{name}'), ['report']);
  assert.deepEqual(documented.get('/v1/models/{id}/promote'), ['admin']);
});
