import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/sqlite.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { hashApiKey } from '../../src/config.ts';
import { call, fixedScorer, serveApp } from './helpers.ts';

const CI = 'ci-token-0123456789abcdef';
const REPORTER = 'rep-token-0123456789abcdef';
const KEYS = `ci:score:${hashApiKey(CI)},reporter:report:${REPORTER}`;
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error, code);
  assert.equal(typeof r.body.message, 'string');
  assert.ok(r.body.message.length > 0);
}

test('400 invalid_request names every bad field path', async () => {
  const s = await serveApp();
  try {
    const r = await call(s.url, 'POST', '/v1/risk', {
      repo: 'not-a-repo',
      files: 'a.ts',
      additions: -1,
      service_health: { cache: 1.5 },
      created_at: 'yesterday',
    });
    assertError(r, 400, 'invalid_request');
    const paths = r.body.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ['additions', 'created_at', 'files', 'repo', 'service_health.cache']);
    const missing = await call(s.url, 'POST', '/v1/risk', {});
    assertError(missing, 400, 'invalid_request');
    assert.equal(missing.body.details[0].path, 'repo');
    const array = await call(s.url, 'POST', '/v1/risk', [1, 2]);
    assertError(array, 400, 'invalid_request');
    const badCircuit = await call(s.url, 'POST', '/v1/circuits/npm', { event: 'explode' });
    assertError(badCircuit, 400, 'invalid_request');
    assert.equal(badCircuit.body.details[0].path, 'event');
    const badName = await call(s.url, 'GET', `/v1/circuits/${'x'.repeat(200)}`);
    assertError(badName, 400, 'invalid_request');
    assert.equal(badName.body.details[0].path, 'params.name');
  } finally {
    await s.close();
  }
});

test('malformed JSON and a missing body are 400, never 500', async () => {
  const s = await serveApp();
  try {
    assertError(await call(s.url, 'POST', '/v1/risk', '{"repo": "acme/web",'), 400, 'invalid_json');
    assertError(await call(s.url, 'POST', '/v1/risk', 'null'), 400, 'invalid_json');
    const empty = await call(s.url, 'POST', '/v1/risk', undefined, { 'content-type': 'application/json' });
    assertError(empty, 400, 'invalid_request');
  } finally {
    await s.close();
  }
});

test('415 for non-JSON bodies', async () => {
  const s = await serveApp();
  try {
    assertError(
      await call(s.url, 'POST', '/v1/risk', 'repo=acme/web', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    assertError(
      await call(s.url, 'POST', '/v1/outcomes', '{}', { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    );
  } finally {
    await s.close();
  }
});

test('413 for bodies over 1 MB, and nothing is stored', async () => {
  const s = await serveApp();
  try {
    const files = Array.from(
      { length: 9000 },
      (_, i) => `src/some/deeply/nested/folder/file-${i}-${'x'.repeat(100)}.ts`,
    );
    const r = await call(s.url, 'POST', '/v1/outcomes', {
      repo: 'acme/web',
      run_id: 1,
      created_at: '2024-01-01T00:00:00Z',
      conclusion: 'success',
      files,
    });
    assertError(r, 413, 'payload_too_large');
    assert.equal(s.store.countRuns(), 0);
  } finally {
    await s.close();
  }
});

test('401 without or with an unknown key, 403 without the scope; keys may be given hashed or raw', async () => {
  const s = await serveApp({ env: { RISKGATE_API_KEYS: KEYS } });
  try {
    const none = await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    assertError(none, 401, 'unauthorized');
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    assertError(
      await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, auth('wrong-token-0123456789')),
      401,
      'unauthorized',
    );
    assertError(
      await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, { authorization: 'Basic Zm9vOmJhcg==' }),
      401,
      'unauthorized',
    );
    assert.equal((await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, auth(CI))).status, 200);
    const wrongScope = await call(
      s.url,
      'POST',
      '/v1/outcomes',
      { repo: 'acme/web', run_id: 1, created_at: '2024-01-01T00:00:00Z', conclusion: 'success' },
      auth(CI),
    );
    assertError(wrongScope, 403, 'forbidden');
    assert.match(wrongScope.body.message, /report/);
    assert.equal(s.store.countRuns(), 0);
    assertError(await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, auth(REPORTER)), 403, 'forbidden');
    assert.equal((await call(s.url, 'GET', '/v1/circuits/npm', undefined, auth(REPORTER))).status, 200);
    for (const open of ['/live', '/ready', '/health', '/metrics', '/openapi.json'])
      assert.equal((await call(s.url, 'GET', open)).status, 200, open);
  } finally {
    await s.close();
  }
});

test('404 not_found for unknown routes', async () => {
  const s = await serveApp();
  try {
    assertError(await call(s.url, 'GET', '/v1/nope'), 404, 'not_found');
    assertError(await call(s.url, 'DELETE', '/v1/risk'), 404, 'not_found');
  } finally {
    await s.close();
  }
});

test('429 rate_limited per key, with Retry-After; other keys are unaffected', async () => {
  const s = await serveApp({ env: { RISKGATE_API_KEYS: KEYS, RISKGATE_RATE_LIMIT: '60', RISKGATE_RATE_BURST: '3' } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, auth(CI))).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const limited = await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }, auth(CI));
    assertError(limited, 429, 'rate_limited');
    const retry = Number(limited.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
    assert.equal((await call(s.url, 'GET', '/v1/circuits/npm', undefined, auth(REPORTER))).status, 200);
  } finally {
    await s.close();
  }
});

test('503 store_unavailable when the store cannot answer, and nothing half-written', async () => {
  const store = openStore(':memory:');
  const s = await serveApp({ store, scorer: createFallbackScorer({ store }) });
  try {
    const realUpsert = store.upsertRuns;
    store.upsertRuns = () => {
      throw new StoreUnavailableError('store unavailable (SQLITE_FULL)');
    };
    store.recentRuns = () => {
      throw new StoreUnavailableError('store unavailable (SQLITE_IOERR)');
    };
    store.getCircuit = () => {
      throw new StoreUnavailableError('store unavailable (SQLITE_READONLY)');
    };
    const out = await call(s.url, 'POST', '/v1/outcomes', {
      repo: 'acme/web',
      run_id: 1,
      created_at: '2024-01-01T00:00:00Z',
      conclusion: 'success',
    });
    assertError(out, 503, 'store_unavailable');
    assert.equal(out.headers.get('retry-after'), '5');
    assertError(await call(s.url, 'POST', '/v1/risk', { repo: 'acme/web' }), 503, 'store_unavailable');
    assertError(await call(s.url, 'POST', '/v1/circuits/npm', { event: 'failure' }), 503, 'store_unavailable');
    const m = await call(s.url, 'GET', '/metrics');
    assert.match(m.text, /riskgate_store_errors_total 3/);
    store.upsertRuns = realUpsert;
    assert.equal(store.countRuns(), 0);
  } finally {
    await s.close();
  }
});

test('an unexpected exception is a 500 internal_error without internals', async () => {
  const store = openStore(':memory:');
  const s = await serveApp({ store, scorer: fixedScorer(0.2) });
  try {
    store.listCircuits = () => {
      throw new Error('secret internal detail');
    };
    const r = await call(s.url, 'GET', '/v1/circuits');
    assertError(r, 500, 'internal_error');
    assert.doesNotMatch(r.text, /secret/);
  } finally {
    await s.close();
  }
});
