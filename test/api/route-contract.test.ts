/**
 * The route declarations (src/api/route.ts) against what the service really does, generically over the
 * served /openapi.json, so a route whose validation and documentation drift apart fails here:
 *  - every query parameter the document declares is validated: sent twice (an array, which no declared
 *    parameter accepts) it gets a 400 naming `query.<name>`;
 *  - every constrained path parameter is validated: an out-of-pattern / out-of-enum value gets a 400 naming
 *    `params.<name>`;
 *  - every request body is validated against the documented component: `{}` gets a 400 naming each of its
 *    required properties;
 *  - every documented operation with `security` answers 401 without a key (and with a wrong one), the open
 *    ones (no `security`) do not;
 *  - every route of every router table answers 401 on an app without authentication unless it is declared
 *    `scope: 'public'`, and a declaration without a scope does not compile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { errorHandler } from '../../src/api/errors.ts';
import { routes, type RouteTable } from '../../src/api/route.ts';
import { CANARY_ROUTES, createCanaryRouter } from '../../src/canary/router.ts';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { loadConfig } from '../../src/config.ts';
import { DASHBOARD_ROUTES, createDashboardRouter } from '../../src/dashboard/router.ts';
import { MODELS_ROUTES, createModelsRouter } from '../../src/registry/router.ts';
import { REPORT_ROUTES, createReportRouter } from '../../src/report/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { DEFAULT_CRON } from '../../src/config/background.ts';
import { call, silent } from './helpers.ts';

const TOKEN = 'contract-all-scopes-0123456789';
const H = { authorization: `Bearer ${TOKEN}` };
const METHODS = ['get', 'post'] as const;

/** A valid value for each path parameter with a pattern (an enum's first member needs no entry). */
const VALID_PATH_VALUE: Record<string, string> = {
  id: 'gbdt-20250101120000-ab12cd',
  name: 'npm',
};
/** A value outside a path parameter's pattern. */
const OUT_OF_PATTERN = '%21%21%20not%20valid';

let dir: string;
let store: Store;
let running: RunningServer;
let doc: any;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rg-contract-'));
  store = openStore(join(dir, 'riskgate.db'));
  const config = loadConfig({
    PORT: '0',
    RISKGATE_HOST: '127.0.0.1',
    RISKGATE_DATA_DIR: dir,
    RISKGATE_MODELS_DIR: join(dir, 'models'),
    RISKGATE_API_KEYS: `all:score+report+admin:${TOKEN}`,
    RISKGATE_LOG_LEVEL: 'silent',
    RISKGATE_RATE_LIMIT: '100000',
    RISKGATE_RATE_BURST: '10000',
    // One wrong key per secured operation: more than the default burst of failed authentications.
    RISKGATE_AUTH_FAILURE_BURST: '1000',
  });
  running = await startServer(config, { bootstrap: false, schedule: false, store, logger: silent });
  await running.loaded;
  doc = (await call(running.url, 'GET', '/openapi.json')).body;
});

after(async () => {
  await running?.shutdown();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  op: any;
}
const operations = (): Operation[] =>
  Object.entries(doc.paths as Record<string, any>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
  );
const params = (op: any, where: 'query' | 'path'): any[] => (op.parameters ?? []).filter((p: any) => p.in === where);
const resolve = (schema: any): any =>
  schema?.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;

function validPathValue(p: any): string {
  if (p.schema.enum) return p.schema.enum[0];
  if (!p.schema.pattern) return 'x';
  const v = VALID_PATH_VALUE[p.name];
  assert.ok(v, `path parameter ${p.name} has a pattern: give it a valid value in VALID_PATH_VALUE`);
  assert.match(v, new RegExp(p.schema.pattern), `VALID_PATH_VALUE.${p.name}`);
  return v;
}
/** The documented path with every path parameter valid, except `bad` (set to `value`). */
const concrete = (path: string, op: any, bad?: string, value?: string): string =>
  path.replace(/\{(\w+)\}/g, (_m, name: string) =>
    name === bad ? value! : encodeURIComponent(validPathValue(params(op, 'path').find((p) => p.name === name))),
  );
const named = (body: any, path: string): boolean =>
  (body?.details ?? []).some((d: any) => d.path === path || d.path.startsWith(`${path}.`));

/** Calls `url` with the all-scopes key (a POST with `{}`) and expects a 400 invalid_request naming `field`. */
async function expectInvalid(method: string, url: string, field: string): Promise<void> {
  const r = await call(running.url, method.toUpperCase(), url, method === 'post' ? {} : undefined, H);
  assert.equal(r.status, 400, `${method} ${url}: ${r.text}`);
  assert.equal(r.body.error, 'invalid_request', `${method} ${url}`);
  assert.ok(named(r.body, field), `${method} ${url} names ${field}: ${r.text}`);
}

test('the document covers the routers: some operations of each have parameters and bodies to probe', () => {
  const ops = operations();
  assert.ok(ops.length >= 25, `${ops.length} documented operations`);
  assert.ok(ops.filter((o) => params(o.op, 'query').length).length >= 4, 'routes with query parameters');
  assert.ok(ops.filter((o) => params(o.op, 'path').length).length >= 5, 'routes with path parameters');
  assert.ok(ops.filter((o) => o.op.requestBody).length >= 10, 'routes with bodies');
});

test('every documented query parameter is validated: sent twice it is a 400 naming query.<name>', async () => {
  let probed = 0;
  for (const { method, path, op } of operations()) {
    for (const p of params(op, 'query')) {
      await expectInvalid(method, `${concrete(path, op)}?${p.name}=1&${p.name}=2`, `query.${p.name}`);
      probed++;
    }
  }
  assert.ok(probed >= 10, `${probed} query parameters probed`);
});

test('every constrained path parameter is validated: a value outside it is a 400 naming params.<name>', async () => {
  let probed = 0;
  for (const { method, path, op } of operations()) {
    for (const p of params(op, 'path')) {
      if (!p.schema.enum && !p.schema.pattern) {
        // Nothing a URL segment can hold is outside `{type: string}`; the route must then take any value.
        assert.deepEqual(Object.keys(p.schema), ['type'], `${path}: ${p.name} is documented unconstrained`);
        continue;
      }
      const url = concrete(path, op, p.name, p.schema.enum ? 'not-a-member' : OUT_OF_PATTERN);
      await expectInvalid(method, url, `params.${p.name}`);
      probed++;
    }
  }
  assert.ok(probed >= 5, `${probed} path parameters probed`);
});

test('every documented request body is validated: {} is a 400 naming each required property', async () => {
  let probed = 0;
  for (const { method, path, op } of operations()) {
    if (!op.requestBody) continue;
    const schema = resolve(op.requestBody.content['application/json'].schema);
    const url = concrete(path, op);
    const r = await call(running.url, method.toUpperCase(), url, {}, H);
    const required: string[] = schema.required ?? [];
    if (required.length === 0 && !schema.anyOf) continue; // {} is a valid body
    assert.equal(r.status, 400, `${method} ${url} with {}: ${r.text}`);
    assert.equal(r.body.error, 'invalid_request', `${method} ${url}`);
    for (const name of required) assert.ok(named(r.body, name), `${method} ${url} names ${name}: ${r.text}`);
    probed++;
  }
  assert.ok(probed >= 10, `${probed} bodies probed`);
});

test('with keys configured every secured operation answers 401 without a key or with a wrong one', async () => {
  const open: string[] = [];
  for (const { method, path, op } of operations()) {
    const url = concrete(path, op);
    const body = method === 'post' ? {} : undefined;
    if (!op.security) {
      open.push(path);
      const r = await call(running.url, method.toUpperCase(), url, body);
      assert.ok(r.status !== 401 && r.status !== 403, `${method} ${url} is documented open: ${r.status}`);
      continue;
    }
    assert.equal((await call(running.url, method.toUpperCase(), url, body)).status, 401, `${method} ${url}`);
    const wrong = await call(running.url, method.toUpperCase(), url, body, { authorization: 'Bearer wrong-key-0123' });
    assert.equal(wrong.status, 401, `${method} ${url} with a wrong key`);
  }
  assert.deepEqual(open.sort(), ['/health', '/live', '/metrics', '/openapi.json', '/ready']);
});

test('on an app without authentication every route of every router is 401 unless declared public', async () => {
  const modelsDir = join(dir, 'models');
  const tables: [string, RouteTable, express.Router][] = [
    ['canary', CANARY_ROUTES, createCanaryRouter({ store })],
    ['report', REPORT_ROUTES, createReportRouter({ store })],
    ['models', MODELS_ROUTES, createModelsRouter({ store, modelsDir, cron: DEFAULT_CRON })],
    ['dashboard', DASHBOARD_ROUTES, createDashboardRouter({ store, modelsDir, cron: DEFAULT_CRON })],
  ];
  const app = express();
  app.use(express.json());
  for (const [, , router] of tables) app.use(router);
  app.use(errorHandler(silent));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    let guarded = 0;
    for (const [name, table] of tables) {
      for (const [key, d] of Object.entries(table)) {
        if (typeof d.path !== 'string') {
          assert.equal(d.scope, 'public', `${name}.${key}: only public routes have RegExp paths here`);
          continue;
        }
        const path = d.path.replace(/:(\w+)/g, (_m, p: string) => VALID_PATH_VALUE[p] ?? 'pre-rollout');
        const r = await call(url, d.method.toUpperCase(), path, d.method === 'post' ? {} : undefined);
        if (d.scope === 'public') assert.notEqual(r.status, 401, `${name}.${key} is public`);
        else {
          assert.equal(r.status, 401, `${name}.${key} (${d.method} ${path}) needs ${d.scope}: ${r.text}`);
          guarded++;
        }
      }
    }
    assert.ok(guarded >= 20, `${guarded} guarded routes`);
  } finally {
    server.close();
  }
});

test('a route declaration without a scope does not compile', () => {
  const table = routes({
    // @ts-expect-error -- `scope` is required: a route cannot be open by omission.
    missing: { method: 'get', path: '/x', doc: false },
  });
  assert.equal('scope' in table.missing, false);
});
