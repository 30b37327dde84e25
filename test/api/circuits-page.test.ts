/**
 * Issue 16.7: GET /v1/circuits answered every circuit at once (10.6 MB at 50k circuits). It now pages with
 * `limit` and an opaque `cursor`, validated by the route's zod schema, which also documents them in OpenAPI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCircuit } from '../../src/policy/circuit.ts';
import { call, serveApp } from './helpers.ts';

test('circuits page by limit and cursor: every circuit exactly once, in name order', async () => {
  const s = await serveApp();
  try {
    const names = Array.from({ length: 250 }, (_, i) => `dep-${String(i).padStart(4, '0')}`);
    for (const n of [...names].reverse()) s.store.putCircuit(emptyCircuit(n, Date.now()));
    const first = await call(s.url, 'GET', '/v1/circuits');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.circuits.length, 100, 'default page size');
    assert.equal(typeof first.body.next_cursor, 'string');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(
        s.url,
        'GET',
        `/v1/circuits?limit=70${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.circuits.length <= 70);
      seen.push(...r.body.circuits.map((c: { name: string }) => c.name));
      cursor = r.body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(seen, names);
    assert.equal(pages, 4);
  } finally {
    await s.close();
  }
});

test('bad paging parameters are 400 naming the parameter', async () => {
  const s = await serveApp();
  try {
    for (const [q, path] of [
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['cursor=%21%21', 'query.cursor'],
      ['cursor=' + Buffer.from('bad name!').toString('base64url'), 'query.cursor'],
      ['cursor=a&cursor=b', 'query.cursor'],
      ['offset=5', 'query'],
    ]) {
      const r = await call(s.url, 'GET', `/v1/circuits?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.body.error, 'invalid_request');
      assert.ok(
        r.body.details.some((d: { path: string }) => d.path.startsWith(path)),
        `${q}: ${JSON.stringify(r.body.details)}`,
      );
    }
  } finally {
    await s.close();
  }
});

test('OpenAPI documents the paging parameters and next_cursor from the same schema', async () => {
  const s = await serveApp();
  try {
    const doc = (await call(s.url, 'GET', '/openapi.json')).body;
    const params = doc.paths['/v1/circuits'].get.parameters as {
      name: string;
      in: string;
      schema: { maximum?: number };
    }[];
    const limit = params.find((p) => p.name === 'limit');
    assert.equal(limit?.in, 'query');
    assert.equal(limit?.schema.maximum, 1000);
    assert.ok(params.some((p) => p.name === 'cursor' && p.in === 'query'));
    assert.ok('next_cursor' in doc.components.schemas.CircuitList.properties);
  } finally {
    await s.close();
  }
});
