import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { errorHandler } from '../../src/api/errors.ts';
import { createCanaryRouter, type CanaryDeps } from '../../src/canary/router.ts';
import { decodeSamples, SAMPLES_ENCODING } from '../../src/canary/service.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

const r = mulberry32(41);
const lat = (n: number, center = 100, sd = 10): number[] => Array.from({ length: n }, () => center + sd * normal(r));

let store: Store;
let server: Server;
let base: string;

async function serve(deps: Partial<CanaryDeps> = {}): Promise<{ url: string; close: () => void; store: Store }> {
  const s = openStore(':memory:');
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  app.use((_req, res, next) => {
    res.locals.principal = { name: 't', scopes: ['score', 'report', 'admin'] };
    next();
  });
  app.use(createCanaryRouter({ store: s, ...deps }));
  // The router's 400s, like its 403s, are HttpErrors that the app's error handler answers.
  app.use(errorHandler(pino({ level: 'silent' })));
  const srv = app.listen(0, '127.0.0.1');
  await new Promise((ok) => srv.once('listening', ok));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => srv.close(), store: s };
}

before(async () => {
  const s = await serve({ riskLookup: async (repo) => (repo === 'acme/risky' ? 0.9 : 0.05) });
  store = s.store;
  base = s.url;
  server = { close: s.close } as unknown as Server;
});
after(() => server.close());

const post = async (path: string, body: unknown, url = base): Promise<{ status: number; json: any }> => {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
};
const decision = (over: Record<string, unknown> = {}) => ({
  deployment: { service: 'web', version: 'v1', repo: 'acme/web', head_sha: 'abc' },
  current_weight: 10,
  elapsed_s: 60,
  metrics: [
    { name: 'p50', direction: 'increase', baseline: lat(200), canary: lat(200) },
    { name: 'errors', direction: 'increase', critical: true, baseline: lat(200, 5, 1), canary: lat(200, 5, 1) },
  ],
  ...over,
});

test('decision: answers, looks up risk through the model, stores the decision and the rollout state', async () => {
  const first = decision();
  const a = await post('/v1/canary/decision', first);
  assert.equal(a.status, 200);
  assert.equal(a.json.risk_source, 'model');
  assert.equal(a.json.risk, 0.05);
  assert.ok(['increase', 'promote'].includes(a.json.action));
  assert.equal(a.json.look, 1);
  const b = await post('/v1/canary/decision', decision({ current_weight: a.json.next_weight }));
  assert.equal(b.json.look, 2, 'repeated looks are accounted for');
  const events = store.listEvents('canary_decision', { key: 'web' });
  assert.equal(events.length, 2);
  assert.equal((events[0].payload.request as any).metrics[0].canary_n, 200, 'the summary counts the samples');
  assert.equal((events[0].payload.request as any).metrics[0].canary, undefined, 'the summary does not carry them');
  // The samples are written right behind the answer, on the next turn of the event loop.
  await new Promise((ok) => setTimeout(ok, 20));
  const inputs = store.listEvents('canary_inputs', { key: 'web' });
  assert.equal(inputs.length, events.length);
  assert.equal(inputs[0].payload.decided_at, events[0].payload.decided_at);
  assert.equal(inputs[0].payload.encoding, SAMPLES_ENCODING);
  const last = inputs[inputs.length - 1];
  const stored = decodeSamples(last.payload, last.data);
  const sent = first.metrics as { name: string; canary: number[]; baseline: number[] }[];
  assert.deepEqual(
    stored.map((m) => m.name),
    sent.map((m) => m.name),
  );
  assert.deepEqual(stored[0].canary, sent[0].canary, 'the exact samples are in the audit log');
  assert.deepEqual(stored[0].baseline, sent[0].baseline);
  assert.deepEqual(stored.at(-1)!.canary, sent.at(-1)!.canary);
  // counts that disagree with the bytes are refused, not misread
  assert.throws(
    () => decodeSamples({ ...last.payload, metrics: [{ name: 'x', baseline_n: 1, canary_n: 1 }] }, last.data),
    /expected 16 bytes/,
  );
});

test('decision: a critical regression rolls back', async () => {
  const a = await post(
    '/v1/canary/decision',
    decision({
      deployment: { service: 'api', version: 'v9' },
      risk: 0.1,
      metrics: [
        { name: 'errors', direction: 'increase', critical: true, baseline: lat(200, 1, 0.1), canary: lat(200, 2, 0.1) },
      ],
    }),
  );
  assert.equal(a.json.action, 'rollback');
  assert.equal(a.json.risk_source, 'request');
});

test('decision: invalid input is a 400 with field paths and stores nothing', async () => {
  const before = store.listEvents('canary_decision', { limit: 1000 }).length;
  const bad = await post(
    '/v1/canary/decision',
    decision({ current_weight: 140, metrics: [{ name: 'x', direction: 'sideways', baseline: [1] }] }),
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid_request');
  const paths = bad.json.details.map((d: any) => d.path);
  assert.ok(paths.includes('current_weight') && paths.includes('metrics.0.direction'), paths.join(','));
  const missing = await post('/v1/canary/decision', { deployment: { service: 'web' } });
  assert.equal(missing.status, 400);
  assert.ok(missing.json.details.some((d: any) => d.path === 'deployment.version'));
  assert.equal(store.listEvents('canary_decision', { limit: 1000 }).length, before);
});

test('decision: Prometheus unreachable → hold with the reason, never promote', async () => {
  const s = await serve({ prometheusUrl: 'http://127.0.0.1:9' });
  try {
    const a = await post(
      '/v1/canary/decision',
      {
        deployment: { service: 'web', version: 'v2' },
        current_weight: 60,
        elapsed_s: 3600,
        risk: 0,
        metrics: [{ name: 'errors', direction: 'increase', query: { canary: 'up', baseline: 'up' } }],
      },
      s.url,
    );
    assert.equal(a.status, 200);
    assert.equal(a.json.action, 'hold');
    assert.equal(a.json.next_weight, 60);
    assert.match(a.json.reasons.join(' '), /unreachable/);
  } finally {
    s.close();
  }
});

test('argo: GET query parameters and POST jsonBody give pass / fail / inconclusive', async () => {
  const metrics = JSON.stringify([{ name: 'p50', direction: 'increase', baseline: lat(200), canary: lat(200) }]);
  const g = await fetch(
    `${base}/v1/canary/argo?service=argo&version=v1&weight=10&risk=0.05&metrics=${encodeURIComponent(metrics)}`,
  );
  const gj = await g.json();
  assert.equal(g.status, 200);
  assert.equal(gj.decision, 'pass');
  const p = await post(
    '/v1/canary/argo',
    decision({
      deployment: { service: 'argo', version: 'v2' },
      risk: 0.9,
      metrics: [{ name: 'p50', direction: 'increase', baseline: lat(12), canary: lat(12) }],
    }),
  );
  assert.equal(p.json.decision, 'inconclusive');
  const f = await post(
    '/v1/canary/argo',
    decision({
      deployment: { service: 'argo', version: 'v3' },
      metrics: [
        { name: 'e', direction: 'increase', critical: true, baseline: lat(200, 1, 0.1), canary: lat(200, 2, 0.1) },
      ],
    }),
  );
  assert.equal(f.json.decision, 'fail');
  const bad = await fetch(`${base}/v1/canary/argo?service=argo&version=v1&metrics=notjson`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).details[0].path, 'query.metrics');
});

test('flagger: pre-rollout refuses risky releases; hooks answer with status codes', async () => {
  const hook = (name: string, metadata: Record<string, string>) =>
    post(`/v1/canary/flagger/${name}`, {
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      checksum: 'c1',
      metadata,
    });
  assert.equal((await hook('pre-rollout', { repo: 'acme/risky', head_sha: 'x' })).status, 403);
  assert.equal((await hook('pre-rollout', { repo: 'acme/web', head_sha: 'x' })).status, 200);
  const badMetrics = JSON.stringify([
    { name: 'errors', direction: 'increase', critical: true, baseline: lat(200, 1, 0.1), canary: lat(200, 2, 0.1) },
  ]);
  assert.equal(
    (await hook('confirm-traffic-increase', { metrics: badMetrics, risk: '0.1', stepWeight: '10' })).status,
    409,
  );
  assert.equal((await hook('rollback', { metrics: badMetrics, risk: '0.1' })).status, 200);
  assert.equal((await hook('confirm-promotion', { metrics: badMetrics, risk: '0.1' })).status, 409);
  assert.equal((await post('/v1/canary/flagger/not-a-hook', { name: 'a', namespace: 'b' })).status, 400);
  const inv = await hook('confirm-traffic-increase', { metrics: '[', risk: '0.1', stepWeight: '10' });
  assert.equal(inv.status, 400);
  assert.equal(inv.json.details[0].path, 'metadata.metrics');
});

test('kayenta: /judge answers a CanaryJudgeResult; invalid requests are 400', async () => {
  const body = {
    canaryConfig: {
      name: 'cfg',
      metrics: [
        { name: 'latency', groups: ['perf'], analysisConfigurations: { canary: { direction: 'increase' } } },
        {
          name: 'errors',
          groups: ['errors'],
          analysisConfigurations: { canary: { direction: 'increase', critical: true } },
        },
      ],
      classifier: { groupWeights: { perf: 50, errors: 50 } },
    },
    scoreThresholds: { pass: 95, marginal: 75 },
    metricSetPairList: [
      { name: 'latency', id: '1', values: { control: lat(200), experiment: lat(200) } },
      { name: 'errors', id: '2', values: { control: [...lat(200, 1, 0.1), 'NaN'], experiment: lat(200, 2, 0.1) } },
    ],
  };
  for (const path of ['/judge', '/v1/canary/kayenta/judge']) {
    const a = await post(path, body);
    assert.equal(a.status, 200);
    assert.equal(a.json.judgeName, 'riskgate-sequential-v1');
    assert.equal(a.json.results.length, 2);
    assert.equal(a.json.results[1].classification, 'High');
    assert.equal(a.json.results[1].controlMetadata.stats.count, 200, 'NaN removed');
    assert.equal(a.json.score.classification, 'Fail');
    assert.equal(a.json.groupScores.length, 2);
  }
  const bad = await post('/judge', { canaryConfig: { metrics: [] }, metricSetPairList: [] });
  assert.equal(bad.status, 400);
  assert.ok(bad.json.details.some((d: any) => d.path === 'scoreThresholds'));
});

test('outcome: stored as an event and as a canonical run record; rollouts list shows history', async () => {
  await post(
    '/v1/canary/decision',
    decision({ deployment: { service: 'shop', version: 'v7', repo: 'acme/shop', head_sha: 'def' } }),
  );
  const o = await post('/v1/canary/outcome', { service: 'shop', version: 'v7', outcome: 'incident' });
  assert.equal(o.status, 201);
  assert.equal(o.json.training_record, true);
  const run = store.getRun('acme/shop', 'canary:shop', 'canary:shop:v7', 1);
  assert.equal(run?.conclusion, 'failure');
  assert.equal(run?.head_sha, 'def');
  const bad = await post('/v1/canary/outcome', { service: 'shop', version: 'v7', outcome: 'meh' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.details[0].path, 'outcome');
  const list = await (await fetch(`${base}/v1/canary/rollouts`)).json();
  const shop = list.rollouts.find((x: any) => x.service === 'shop');
  assert.equal(shop.outcome.outcome, 'incident');
  const hist = await (await fetch(`${base}/v1/canary/rollouts/shop`)).json();
  assert.equal(hist.decisions.length, 1);
  assert.equal((await fetch(`${base}/v1/canary/rollouts/shop?limit=0`)).status, 400);
});
