import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { errorHandler } from '../../src/api/errors.ts';
import { createReportRouter } from '../../src/report/router.ts';
import { computeDora } from '../../src/report/dora.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { month } from './fixtures.ts';

let store: Store;
let server: Server;
let base: string;

before(async () => {
  store = openStore(':memory:');
  store.upsertRuns(month());
  const app = express();
  // The routes need the score scope: this stands in for the app's authentication.
  app.use((_req, res, next) => {
    res.locals.principal = { name: 't', scopes: ['score'] };
    next();
  });
  app.use(createReportRouter({ store }));
  app.use(errorHandler(pino({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  store.close();
});

const get = async (path: string) => {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as any };
};

test('GET /v1/reports/dora answers the same figures as computeDora', async () => {
  const { status, body } = await get('/v1/reports/dora?repo=acme/app&weeks=3');
  assert.equal(status, 200);
  assert.deepEqual(body, JSON.parse(JSON.stringify(computeDora(month(), { weeks: 3 }))));
  assert.equal(body.weeks.length, 3);
  assert.equal(body.weeks[0].week_start, '2024-05-13');
  assert.equal(body.weeks[0].deployments, 1);
});

test('GET /v1/reports/dora defaults to 12 weeks and accepts a time zone', async () => {
  const { status, body } = await get('/v1/reports/dora?repo=acme/app&timezone=Asia/Tokyo');
  assert.equal(status, 200);
  assert.equal(body.timezone, 'Asia/Tokyo');
  assert.equal(body.totals.weeks, 4);
});

test('GET /v1/reports/flaky lists flaky runs and per-workflow rates', async () => {
  const { status, body } = await get('/v1/reports/flaky?repo=acme/app');
  assert.equal(status, 200);
  assert.equal(body.repo, 'acme/app');
  assert.equal(body.total_flaky, 1);
  assert.deepEqual(
    body.flaky.map((f: any) => [f.run_id, f.failed_attempt, f.passed_attempt]),
    [['77', 1, 2]],
  );
  assert.deepEqual(
    body.workflows.map((w: any) => [w.workflow, w.flaky_rate]),
    [
      ['ci', 0.1],
      ['nightly', 0],
    ],
  );
});

test('bad queries get 400 with the field path; unknown repos 404', async () => {
  const cases: [string, number, string][] = [
    ['/v1/reports/dora', 400, 'query.repo'],
    ['/v1/reports/dora?repo=nope', 400, 'query.repo'],
    ['/v1/reports/dora?repo=acme/app&weeks=0', 400, 'query.weeks'],
    ['/v1/reports/dora?repo=acme/app&weeks=abc', 400, 'query.weeks'],
    ['/v1/reports/dora?repo=acme/app&timezone=Mars/Base', 400, 'query.timezone'],
    ['/v1/reports/dora?repo=acme/app&repo=acme/b', 400, 'query.repo'],
    ['/v1/reports/flaky?repo=acme/app&limit=-1', 400, 'query.limit'],
    ['/v1/reports/dora?repo=acme/missing', 404, 'query.repo'],
    ['/v1/reports/flaky?repo=acme/missing', 404, 'query.repo'],
  ];
  for (const [path, status, field] of cases) {
    const r = await get(path);
    assert.equal(r.status, status, path);
    assert.ok(
      r.body.details.some((d: any) => d.path === field),
      `${path}: ${JSON.stringify(r.body)}`,
    );
  }
  const unknownParam = await get('/v1/reports/dora?repo=acme/app&wekes=2');
  assert.equal(unknownParam.status, 400, 'a misspelt parameter is an error, not silently ignored');
  // Nothing was written by the failed requests.
  assert.equal(store.countRuns(), month().length);
});
