/**
 * src/api/route.ts on its own: one table validates params, query and body with the error paths the API
 * has always used, applies the scope check, maps domain errors, and documents exactly what it validates.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { HttpError, errorHandler } from '../../src/api/errors.ts';
import { describeRoutes, mountRoutes, routes } from '../../src/api/route.ts';
import { call, silent } from './helpers.ts';

class Refused extends Error {}

const TABLE = routes({
  item: {
    method: 'post',
    path: '/items/:id',
    scope: 'admin',
    params: {
      id: z
        .string()
        .regex(/^[a-z]+$/)
        .describe('item name'),
    },
    query: z.strictObject({ n: z.coerce.number().int().min(1).max(9).default(1) }),
    body: { name: 'ItemBody', schema: z.strictObject({ reason: z.string().min(1) }) },
    doc: { operationId: 'postItem', summary: 'post an item', responses: { '200': { description: 'ok' } } },
  },
  refused: { method: 'get', path: '/refused', scope: 'admin', doc: false },
  open: { method: 'get', path: '/open', scope: 'public', doc: false },
});

let server: Server;
let base: string;

before(async () => {
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    if (req.headers.authorization === 'Bearer admin') res.locals.principal = { name: 'a', scopes: ['admin'] };
    next();
  });
  mountRoutes(
    app as unknown as express.Router,
    TABLE,
    {
      item: (_req, _res, { params, query, body }) => ({ id: params.id, n: query.n, reason: body.reason }),
      refused: () => {
        throw new Refused('no');
      },
      open: () => ({ open: true }),
    },
    { mapError: (err) => (err instanceof Refused ? new HttpError(409, 'conflict', err.message) : undefined) },
  );
  app.use(errorHandler(silent));
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const ADMIN = { authorization: 'Bearer admin' };

test('a valid request reaches the handler with parsed values (defaults applied, numbers coerced)', async () => {
  const r = await call(base, 'POST', '/items/abc?n=3', { reason: 'why' }, ADMIN);
  assert.deepEqual([r.status, r.body], [200, { id: 'abc', n: 3, reason: 'why' }]);
  const d = await call(base, 'POST', '/items/abc', { reason: 'why' }, ADMIN);
  assert.equal(d.body.n, 1);
});

test('each invalid part is a 400 naming params.<name>, query.<name> or the body field', async () => {
  const cases: [string, unknown, string, string][] = [
    ['/items/ABC', { reason: 'x' }, 'params.id', 'invalid path parameter id'],
    ['/items/abc?n=0', { reason: 'x' }, 'query.n', 'invalid query'],
    ['/items/abc?x=1', { reason: 'x' }, 'query', 'invalid query'],
    ['/items/abc', { reason: '' }, 'reason', 'invalid request body'],
    ['/items/abc', { reason: 'x', extra: 1 }, '(root)', 'invalid request body'],
  ];
  for (const [path, body, field, message] of cases) {
    const r = await call(base, 'POST', path, body, ADMIN);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error, 'invalid_request');
    assert.equal(r.body.message, message, path);
    assert.deepEqual(
      r.body.details.map((d: { path: string }) => d.path),
      [field],
      `${path} ${JSON.stringify(body)}`,
    );
  }
  const none = await call(base, 'POST', '/items/abc', undefined, ADMIN);
  assert.deepEqual(none.body.details, [{ path: '(root)', message: 'missing body' }]);
});

test('the scope is checked before validation; public routes need no principal; domain errors are mapped', async () => {
  assert.equal((await call(base, 'POST', '/items/ABC', {})).status, 401, 'no key: 401, not a 400 that leaks the shape');
  assert.equal((await call(base, 'GET', '/open')).status, 200);
  const refused = await call(base, 'GET', '/refused', undefined, ADMIN);
  assert.deepEqual([refused.status, refused.body.error], [409, 'conflict']);
});

test('the documentation is derived from the same declaration', () => {
  const { paths, requestSchemas } = describeRoutes(TABLE);
  assert.deepEqual(Object.keys(paths), ['/items/{id}'], 'doc: false routes are left out');
  const op = paths['/items/{id}'].post as any;
  assert.deepEqual(op['x-required-scope'], 'admin');
  assert.deepEqual(
    op.parameters.map((p: any) => [p.in, p.name, p.required]),
    [
      ['path', 'id', true],
      ['query', 'n', false],
    ],
  );
  assert.equal(op.parameters[0].description, 'item name');
  assert.deepEqual(op.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/ItemBody' });
  assert.equal(requestSchemas.ItemBody, TABLE.item.body.schema);
});

test('two routes naming one request component with different schemas are refused', () => {
  const doc = { operationId: 'x', summary: 'x', responses: {} };
  const clash = routes({
    a: { method: 'post', path: '/a', scope: 'score', body: { name: 'B', schema: z.object({}) }, doc },
    b: { method: 'post', path: '/b', scope: 'score', body: { name: 'B', schema: z.object({ x: z.string() }) }, doc },
  });
  assert.throws(() => describeRoutes(clash), /two request schemas are named B/);
});
