/**
 * /openapi.json against the service `riskgate serve` really runs (startServer: createApp + the canary,
 * models, report and dashboard routers, with serve's own OpenAPI extras):
 *  - every route registered on the Express routers (and every open endpoint) is documented, and every
 *    documented operation exists, so a new undocumented route fails here;
 *  - real success and error responses of the canary, models and reports routes validate with ajv against
 *    the documented response schema of their status;
 *  - each documented scope is the one the route enforces;
 *  - the document is structurally sound OpenAPI 3.1 (schemas compile, every $ref resolves).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type express from 'express';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { loadConfig } from '../../src/config.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory } from '../support/runs.ts';
import { call, silent } from './helpers.ts';

// ajv-formats is CommonJS; under ESM its function is the default export's default.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

const TOKENS = {
  all: 'tok-all-0123456789abcdef',
  noScore: 'tok-noscore-0123456789abcdef',
  noReport: 'tok-noreport-0123456789abcdef',
  noAdmin: 'tok-noadmin-0123456789abcdef',
};
const KEYS = [
  `all:score+report+admin:${TOKENS.all}`,
  `ns:report+admin:${TOKENS.noScore}`,
  `nr:score+admin:${TOKENS.noReport}`,
  `na:score+report:${TOKENS.noAdmin}`,
].join(',');
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const H = auth(TOKENS.all);
const LACKING: Record<string, string> = { score: TOKENS.noScore, report: TOKENS.noReport, admin: TOKENS.noAdmin };
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
/** Answered by createApp's open dispatch layer (not a router route), so listed here. */
const OPEN_ENDPOINTS = ['/live', '/ready', '/health', '/metrics', '/openapi.json'];

let dir: string;
let store: Store;
let running: RunningServer;
let doc: any;
let champion: string;
let challenger: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rg-openapi-'));
  const modelsDir = join(dir, 'models');
  store = openStore(join(dir, 'riskgate.db'));
  store.upsertRuns(randomHistory(7, 150, ['acme/web', 'acme/api']));
  // A flaky run (failed, then passed on a re-run), so the flaky report has a row.
  const flaky = {
    repo: 'acme/web',
    run_id: 'flaky-1',
    workflow: 'ci',
    created_at: '2024-03-01T10:00:00Z',
    head_sha: 'f1',
    head_branch: 'main',
    event: 'push',
  };
  store.upsertRuns([
    RunRecordSchema.parse({ ...flaky, run_attempt: 1, conclusion: 'failure' }),
    RunRecordSchema.parse({ ...flaky, run_attempt: 2, conclusion: 'success' }),
  ]);
  champion = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: true })).manifest.id;
  challenger = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest.id;
  const config = loadConfig({
    PORT: '0',
    RISKGATE_HOST: '127.0.0.1',
    RISKGATE_DATA_DIR: dir,
    RISKGATE_MODELS_DIR: modelsDir,
    RISKGATE_API_KEYS: KEYS,
    RISKGATE_LOG_LEVEL: 'silent',
    RISKGATE_RATE_LIMIT: '100000',
    RISKGATE_RATE_BURST: '10000',
  });
  running = await startServer(config, { bootstrap: false, schedule: false, store, logger: silent });
  await running.loaded;
  const r = await call(running.url, 'GET', '/openapi.json');
  assert.equal(r.status, 200);
  doc = r.body;
});

after(async () => {
  await running?.shutdown();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ----

type RouteEntry = { method: string; path: string; regexp: boolean };

/** Every route on the app's router stack, recursing into mounted routers (all are mounted at the root). */
function registeredRoutes(app: express.Express): RouteEntry[] {
  const out: RouteEntry[] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const p = layer.route.path;
        for (const m of Object.keys(layer.route.methods)) {
          if (m === '_all') continue;
          out.push({
            method: m,
            path: typeof p === 'string' ? p.replace(/:([A-Za-z0-9_]+)/g, '{$1}') : String(p),
            regexp: typeof p !== 'string',
          });
        }
      } else if (Array.isArray(layer.handle?.stack)) walk(layer.handle.stack);
    }
  };
  walk((app as any).router.stack);
  return out;
}

/** The dashboard's shell, assets and /ui/api/* data calls: deliberately left out of the document. */
const isDashboard = (r: RouteEntry) =>
  r.path === '/' || r.path.startsWith('/ui') || (r.regexp && r.path.includes('ui'));

function operations(d: any): { path: string; method: string; op: any }[] {
  return Object.entries(d.paths).flatMap(([path, item]: [string, any]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
  );
}

const DOC_ID = 'https://riskgate.test/openapi.json';
const pointer = (...parts: string[]) => '#/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function makeAjv(d: any): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  // The document's top-level members are not JSON Schema keywords; declaring them lets ajv resolve
  // `#/components/schemas/...` refs inside the document while staying strict about schema keywords.
  ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'components', 'paths']);
  ajv.addSchema({ ...d, $id: DOC_ID });
  return ajv;
}

function responseValidator(ajv: Ajv2020, method: string, path: string, status: number) {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
  const r = op.responses[String(status)];
  assert.ok(r, `${method.toUpperCase()} ${path} documents status ${status}`);
  assert.ok(r.content?.['application/json']?.schema, `${method.toUpperCase()} ${path} ${status} has a JSON schema`);
  const v = ajv.getSchema(
    DOC_ID + pointer('paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema'),
  );
  assert.ok(v, `schema of ${method.toUpperCase()} ${path} ${status} compiles`);
  return v;
}

/** A concrete URL for a documented path (path parameters filled in). */
function samplePath(path: string): string {
  const values: Record<string, string> = {
    name: 'npm',
    hook: 'confirm-traffic-increase',
    service: 'checkout',
    id: champion,
  };
  return path.replace(/\{([^}]+)\}/g, (_m, k: string) => encodeURIComponent(values[k] ?? 'x'));
}

// ---- (a) coverage ----

test('every route the running service serves is documented, and every documented operation exists', async () => {
  const app = running.server.listeners('request')[0] as express.Express;
  assert.equal(typeof (app as any).router?.stack, 'object', 'the request listener is the Express app');
  const routes = registeredRoutes(app);
  assert.ok(routes.length > 20, `found ${routes.length} routes`);

  const documented = new Set(operations(doc).map((o) => `${o.method} ${o.path}`));
  const missing = routes
    .filter((r) => !isDashboard(r) && !documented.has(`${r.method} ${r.path}`))
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
  assert.deepEqual(missing, [], 'routes served but not in /openapi.json');

  // The dashboard is left out on purpose, and the document says so.
  const dashboard = routes.filter(isDashboard);
  assert.ok(
    dashboard.some((r) => r.path.startsWith('/ui/api/')),
    'the dashboard data API is mounted',
  );
  assert.match(doc.info.description, /\/ui\/api\/\*/);
  for (const p of Object.keys(doc.paths))
    assert.ok(!p.startsWith('/ui') && p !== '/', `${p}: dashboard routes are not documented`);

  // Open endpoints are answered before the routers; each answers and is documented.
  for (const p of OPEN_ENDPOINTS) {
    assert.ok(documented.has(`get ${p}`), `GET ${p} documented`);
    const r = await call(running.url, 'GET', p);
    assert.notEqual(r.status, 404, `GET ${p} is served`);
  }

  // The reverse: nothing documented that the service does not serve.
  const served = new Set([...routes.map((r) => `${r.method} ${r.path}`), ...OPEN_ENDPOINTS.map((p) => `get ${p}`)]);
  const stale = [...documented].filter((k) => !served.has(k));
  assert.deepEqual(stale, [], 'documented but not served');
});

test("README's API table names only documented paths", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = readme.split('\n').filter((l) => /^\| `(GET|POST|GET\/POST) \//.test(l));
  assert.ok(rows.length >= 5, 'README has the API table');
  const paths = rows.flatMap((l) => [...l.split('|')[1].matchAll(/`(?:[A-Z/]+ )?(\/[^`\s]*)`/g)].map((m) => m[1]));
  for (const p of paths) assert.ok(doc.paths[p], `README's ${p} is in /openapi.json`);
});

// ---- (c) structure ----

test('the document is structurally valid OpenAPI 3.1: operations complete, schemas compile, $refs resolve', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.info.title && doc.info.version);
  assert.equal(doc.jsonSchemaDialect, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });

  const ids = new Set<string>();
  for (const { path, method, op } of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(path.startsWith('/'), where);
    assert.equal(typeof op.summary, 'string', `${where} has a summary`);
    assert.ok(op.operationId && !ids.has(op.operationId), `${where} has a unique operationId`);
    ids.add(op.operationId);
    assert.ok(
      Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)),
      `${where} documents a 2xx`,
    );
    for (const [status, r] of Object.entries<any>(op.responses)) {
      assert.match(status, /^[1-5]\d\d$/, where);
      assert.equal(typeof r.description, 'string', `${where} ${status} has a description`);
    }
    if (op.security) {
      assert.deepEqual(op.security, [{ bearer: [] }], where);
      assert.ok(['score', 'report', 'admin'].includes(op['x-required-scope']), `${where} names its scope`);
      for (const s of ['401', '403']) assert.ok(op.responses[s], `${where} documents ${s}`);
    }
    const params: any[] = op.parameters ?? [];
    const templ = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const t of templ)
      assert.ok(
        params.some((p) => p.in === 'path' && p.name === t && p.required === true),
        `${where} declares path parameter ${t}`,
      );
    for (const p of params) {
      assert.ok(
        ['path', 'query'].includes(p.in) && typeof p.name === 'string' && p.schema,
        `${where} parameter ${p.name}`,
      );
      if (p.in === 'path') assert.ok(templ.includes(p.name), `${where}: path parameter ${p.name} is in the template`);
    }
    assert.equal(
      new Set(params.map((p) => `${p.in}:${p.name}`)).size,
      params.length,
      `${where}: no duplicate parameters`,
    );
    if (op.requestBody) assert.ok(op.requestBody.content['application/json'].schema, `${where} body schema`);
  }

  // Every $ref points at something that exists.
  const refs: string[] = [];
  const collect = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) k === '$ref' ? refs.push(x as string) : collect(x);
  };
  collect(doc);
  assert.ok(refs.length > 50);
  for (const r of refs) {
    assert.match(r, /^#\//, `${r} is a local ref`);
    const target = r
      .slice(2)
      .split('/')
      .reduce((o: any, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    assert.ok(target && typeof target === 'object', `${r} resolves`);
  }

  // Every schema object in the document compiles (strict 2020-12 with formats).
  const ajv = makeAjv(doc);
  for (const name of Object.keys(doc.components.schemas))
    assert.ok(ajv.getSchema(DOC_ID + pointer('components', 'schemas', name)), `component ${name} compiles`);
  for (const { path, method, op } of operations(doc)) {
    const base = ['paths', path, method];
    (op.parameters ?? []).forEach((_p: unknown, i: number) =>
      assert.ok(
        ajv.getSchema(DOC_ID + pointer(...base, 'parameters', String(i), 'schema')),
        `${method} ${path} parameter ${i}`,
      ),
    );
    if (op.requestBody)
      assert.ok(
        ajv.getSchema(DOC_ID + pointer(...base, 'requestBody', 'content', 'application/json', 'schema')),
        `${method} ${path} body`,
      );
    for (const [status, r] of Object.entries<any>(op.responses)) {
      for (const type of Object.keys(r.content ?? {}))
        assert.ok(
          ajv.getSchema(DOC_ID + pointer(...base, 'responses', status, 'content', type, 'schema')),
          `${method} ${path} ${status}`,
        );
    }
  }
});

// ---- (b) real responses ----

const samples = (xs: number[]) => xs;
const metric = {
  name: 'error_rate',
  direction: 'increase',
  critical: true,
  baseline: samples([0, 0.01, 0, 0.02, 0, 0.01, 0, 0]),
  canary: samples([0, 0.01, 0, 0, 0.01, 0, 0, 0]),
};
const decision = {
  deployment: { service: 'checkout', version: 'v2', repo: 'acme/web', head_sha: 'abc' },
  current_weight: 10,
  elapsed_s: 120,
  risk: 0.1,
  metrics: [metric],
};
const kayenta = {
  canaryConfig: {
    name: 'cfg',
    metrics: [{ name: 'latency', groups: ['perf'], analysisConfigurations: { canary: { direction: 'increase' } } }],
  },
  scoreThresholds: { pass: 95, marginal: 75 },
  metricSetPairList: [
    {
      name: 'latency',
      id: 'm1',
      values: { control: [10, 11, 12, 10, 11, 12, 10], experiment: [10, 12, 11, 'NaN', 11, 12, null] },
    },
  ],
};
const flagger = (metadata: Record<string, string>) => ({
  name: 'checkout',
  namespace: 'shop',
  phase: 'Progressing',
  checksum: 'v2',
  metadata,
});
const argoQuery = `service=checkout&version=v3&weight=20&elapsed_s=60&metrics=${encodeURIComponent(JSON.stringify([metric]))}`;

type Case = {
  method: string;
  doc: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number | number[];
};

test('real responses of the canary, models, reports and circuit routes validate against the documented schemas', async () => {
  const ajv = makeAjv(doc);
  const reason = { reason: 'openapi test' };
  const cases: Case[] = [
    // canary
    { method: 'post', doc: '/v1/canary/decision', path: '/v1/canary/decision', body: decision, status: 200 },
    {
      method: 'post',
      doc: '/v1/canary/decision',
      path: '/v1/canary/decision',
      body: { deployment: { service: 'checkout' } },
      status: 400,
    },
    {
      method: 'post',
      doc: '/v1/canary/decision',
      path: '/v1/canary/decision',
      body: decision,
      headers: {},
      status: 401,
    },
    {
      method: 'post',
      doc: '/v1/canary/decision',
      path: '/v1/canary/decision',
      body: decision,
      headers: auth(TOKENS.noScore),
      status: 403,
    },
    {
      method: 'post',
      doc: '/v1/canary/decision',
      path: '/v1/canary/decision',
      body: 'service=x',
      headers: { ...H, 'content-type': 'text/plain' },
      status: 415,
    },
    { method: 'get', doc: '/v1/canary/argo', path: `/v1/canary/argo?${argoQuery}`, status: 200 },
    {
      method: 'get',
      doc: '/v1/canary/argo',
      path: '/v1/canary/argo?service=checkout&version=v3&metrics=nope',
      status: 400,
    },
    {
      method: 'post',
      doc: '/v1/canary/argo',
      path: '/v1/canary/argo',
      body: { ...decision, deployment: { service: 'checkout', version: 'v4' } },
      status: 200,
    },
    { method: 'post', doc: '/v1/canary/argo', path: '/v1/canary/argo', body: { current_weight: 500 }, status: 400 },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/pre-rollout',
      body: flagger({ risk: '0.1' }),
      status: 200,
    },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/pre-rollout',
      body: flagger({ risk: '0.95' }),
      status: 403,
    },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/pre-rollout',
      body: flagger({ risk: '7' }),
      status: 400,
    },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/confirm-traffic-increase',
      body: flagger({ metrics: JSON.stringify([metric]), stepWeight: '10' }),
      status: [200, 409],
    },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/rollback',
      body: flagger({ metrics: JSON.stringify([metric]) }),
      status: [200, 409],
    },
    {
      method: 'post',
      doc: '/v1/canary/flagger/{hook}',
      path: '/v1/canary/flagger/bogus',
      body: flagger({}),
      status: 400,
    },
    { method: 'post', doc: '/judge', path: '/judge', body: kayenta, status: 200 },
    { method: 'post', doc: '/v1/canary/kayenta/judge', path: '/v1/canary/kayenta/judge', body: kayenta, status: 200 },
    {
      method: 'post',
      doc: '/v1/canary/kayenta/judge',
      path: '/v1/canary/kayenta/judge',
      body: { canaryConfig: {} },
      status: 400,
    },
    {
      method: 'post',
      doc: '/v1/canary/outcome',
      path: '/v1/canary/outcome',
      body: { service: 'checkout', version: 'v2', outcome: 'promoted' },
      status: 201,
    },
    {
      method: 'post',
      doc: '/v1/canary/outcome',
      path: '/v1/canary/outcome',
      body: { service: 'orphan', version: 'v1', outcome: 'incident', detail: 'paged' },
      status: 201,
    },
    {
      method: 'post',
      doc: '/v1/canary/outcome',
      path: '/v1/canary/outcome',
      body: { service: 'checkout', version: 'v2', outcome: 'maybe' },
      status: 400,
    },
    { method: 'get', doc: '/v1/canary/rollouts', path: '/v1/canary/rollouts', status: 200 },
    {
      method: 'get',
      doc: '/v1/canary/rollouts',
      path: '/v1/canary/rollouts',
      headers: auth(TOKENS.noReport),
      status: 403,
    },
    { method: 'get', doc: '/v1/canary/rollouts/{service}', path: '/v1/canary/rollouts/checkout?limit=50', status: 200 },
    { method: 'get', doc: '/v1/canary/rollouts/{service}', path: '/v1/canary/rollouts/checkout?limit=0', status: 400 },
    // models
    { method: 'get', doc: '/v1/models', path: '/v1/models', status: 200 },
    { method: 'get', doc: '/v1/models/{id}', path: `/v1/models/${champion}`, status: 200 },
    { method: 'get', doc: '/v1/models/{id}', path: '/v1/models/gbdt-19990101000000-000000', status: 404 },
    { method: 'get', doc: '/v1/models/{id}', path: '/v1/models/Not_An_Id', status: 400 },
    { method: 'post', doc: '/v1/models/{id}/trial', path: `/v1/models/${champion}/trial`, body: reason, status: 409 },
    {
      method: 'post',
      doc: '/v1/models/{id}/trial',
      path: `/v1/models/${challenger}/trial`,
      body: { ...reason, ab_share: 0.25 },
      status: 200,
    },
    {
      method: 'post',
      doc: '/v1/models/{id}/trial',
      path: `/v1/models/${challenger}/trial`,
      body: { reason: '' },
      status: 400,
    },
    { method: 'get', doc: '/v1/models', path: '/v1/models', status: 200 },
    { method: 'get', doc: '/v1/shadow', path: '/v1/shadow', status: 200 },
    { method: 'post', doc: '/v1/models/trial/end', path: '/v1/models/trial/end', body: reason, status: 200 },
    { method: 'post', doc: '/v1/models/trial/end', path: '/v1/models/trial/end', body: reason, status: 409 },
    {
      method: 'post',
      doc: '/v1/models/{id}/promote',
      path: `/v1/models/${champion}/promote`,
      body: reason,
      status: 409,
    },
    {
      method: 'post',
      doc: '/v1/models/{id}/promote',
      path: '/v1/models/gbdt-19990101000000-000000/promote',
      body: reason,
      status: 404,
    },
    {
      method: 'post',
      doc: '/v1/models/{id}/promote',
      path: `/v1/models/${challenger}/promote`,
      body: reason,
      headers: auth(TOKENS.noAdmin),
      status: 403,
    },
    {
      method: 'post',
      doc: '/v1/models/{id}/promote',
      path: `/v1/models/${challenger}/promote`,
      body: reason,
      status: 200,
    },
    { method: 'get', doc: '/v1/models/{id}', path: `/v1/models/${challenger}`, status: 200 },
    {
      method: 'post',
      doc: '/v1/models/rollback',
      path: '/v1/models/rollback',
      body: { reason: 'x', extra: 1 },
      status: 400,
    },
    { method: 'post', doc: '/v1/models/rollback', path: '/v1/models/rollback', body: reason, status: 200 },
    { method: 'get', doc: '/v1/jobs', path: '/v1/jobs', status: 200 },
    { method: 'get', doc: '/v1/drift', path: '/v1/drift', status: 200 },
    { method: 'get', doc: '/v1/drift', path: '/v1/drift', headers: {}, status: 401 },
    // reports
    {
      method: 'get',
      doc: '/v1/reports/dora',
      path: '/v1/reports/dora?repo=acme/web&weeks=8&timezone=Europe/Berlin',
      status: 200,
    },
    { method: 'get', doc: '/v1/reports/dora', path: '/v1/reports/dora?repo=acme/nothing', status: 404 },
    { method: 'get', doc: '/v1/reports/dora', path: '/v1/reports/dora?repo=acme/web&timezone=Mars/Base', status: 400 },
    { method: 'get', doc: '/v1/reports/flaky', path: '/v1/reports/flaky?repo=acme/web&limit=5', status: 200 },
    { method: 'get', doc: '/v1/reports/flaky', path: '/v1/reports/flaky?repo=acme/web&extra=1', status: 400 },
    { method: 'get', doc: '/v1/reports/flaky', path: '/v1/reports/flaky?repo=acme/nothing', status: 404 },
    // core
    { method: 'get', doc: '/v1/circuits', path: '/v1/circuits', status: 200 },
    { method: 'post', doc: '/v1/circuits/{name}', path: '/v1/circuits/npm', body: { event: 'failure' }, status: 200 },
    { method: 'get', doc: '/v1/circuits', path: '/v1/circuits', status: 200 },
  ];
  for (const c of cases) {
    const r = await call(running.url, c.method.toUpperCase(), c.path, c.body, c.headers ?? H);
    const want = Array.isArray(c.status) ? c.status : [c.status];
    const where = `${c.method.toUpperCase()} ${c.path} → ${r.status}`;
    assert.ok(want.includes(r.status), `${where}, expected ${want.join('/')}: ${r.text.slice(0, 300)}`);
    const validate = responseValidator(ajv, c.method, c.doc, r.status);
    assert.ok(validate(r.body), `${where}: ${ajv.errorsText(validate.errors)} in ${r.text.slice(0, 500)}`);
  }

  // The successes above were not vacuous: they carried data.
  const rollouts = await call(running.url, 'GET', '/v1/canary/rollouts', undefined, H);
  assert.ok(rollouts.body.rollouts.length >= 1);
  assert.ok((await call(running.url, 'GET', '/v1/reports/flaky?repo=acme/web', undefined, H)).body.flaky.length >= 1);
  assert.ok((await call(running.url, 'GET', '/v1/canary/rollouts/checkout', undefined, H)).body.decisions.length >= 1);
});

test('each documented scope is the one the route enforces', async () => {
  const ajv = makeAjv(doc);
  for (const { path, method, op } of operations(doc)) {
    if (!op.security) continue;
    const scope = op['x-required-scope'];
    const url = samplePath(path);
    const lacking = await call(
      running.url,
      method.toUpperCase(),
      url,
      method === 'post' ? {} : undefined,
      auth(LACKING[scope]),
    );
    assert.equal(lacking.status, 403, `${method.toUpperCase()} ${path} without ${scope}: ${lacking.text}`);
    assert.equal(lacking.body.error, 'forbidden');
    const v = responseValidator(ajv, method, path, 403);
    assert.ok(v(lacking.body), `${method.toUpperCase()} ${path} 403: ${ajv.errorsText(v.errors)}`);
    const anonymous = await call(running.url, method.toUpperCase(), url, method === 'post' ? {} : undefined);
    assert.equal(anonymous.status, 401, `${method.toUpperCase()} ${path} without a key`);
  }
});

test('the validator is not vacuous: a wrong body fails the documented schema', () => {
  const ajv = makeAjv(doc);
  const v = responseValidator(ajv, 'get', '/v1/models', 200);
  assert.equal(v({ champion: null, trial: null, ab_share: 2, previous: [], models: [{ id: 'x' }] }), false);
  const f = responseValidator(ajv, 'post', '/v1/canary/flagger/{hook}', 409);
  assert.equal(f({ allowed: 'no' }), false);
});
