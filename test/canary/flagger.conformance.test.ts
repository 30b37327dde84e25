/**
 * Flagger conformance (issue 15.5): the Canary snippet of docs/canary.md, run through a port of Flagger's
 * own webhook client and canary scheduler against a real Riskgate app with API keys.
 *
 * Ported from fluxcd/flagger at commit 15bd6ad555e6c935da55f0ab95977be74c149bd6:
 *  - pkg/controller/webhook.go — `callWebhook`: JSON `CanaryWebhookPayload` (name, namespace, phase,
 *    checksum, metadata omitempty) POSTed with only Content-Type; `r.StatusCode > 202` is an error whose
 *    message is the body; go-retryablehttp (v0.7.8, DefaultRetryPolicy) retries connection errors, 429 and
 *    5xx except 501, `retries` times. `CallEventWebhook` adds eventMessage/eventType/timestamp to metadata
 *    without overriding them.
 *  - pkg/apis/flagger/v1beta1/canary.go — hook types; `CanaryWebhook` has no headers field.
 *  - pkg/controller/scheduler.go (`advanceCanary`, `runCanary`, `nextStepWeight`, `maxWeight`,
 *    `runPromotionTrafficShift`, `rollback`) and scheduler_hooks.go (`run*Hooks`) — the order hooks are called
 *    in each interval and what a failure means for each type. Kubernetes, mesh routing and the builtin metric
 *    checks are left out: the port keeps the status fields the hooks drive (phase, canaryWeight,
 *    failedChecks) and the order of the calls.
 * The snippet's Prometheus queries are replaced by samples of the same metric (no Prometheus here); the
 * rest of the snippet (paths, hook types, metadata) is used as written, with the token filled in.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createApp } from '../../src/app.ts';
import { createCanaryRouter, isFlaggerHookPath } from '../../src/canary/router.ts';
import { FLAGGER_EVENT } from '../../src/canary/flagger-hooks.ts';
import { MetricSpec } from '../../src/canary/schemas.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { loadConfig } from '../../src/config.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { fixedScorer, silent } from '../api/helpers.ts';

// ---- the docs snippet, parsed as YAML (PyYAML: YAML 1.1 like Kubernetes' sigs.k8s.io/yaml) ----
const docs = readFileSync(new URL('../../docs/canary.md', import.meta.url), 'utf8');
const section = docs.slice(docs.indexOf('## Flagger webhooks'), docs.indexOf('## Kayenta remote judge'));
const yamlText = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
const py = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], {
  input: yamlText ?? '',
  encoding: 'utf8',
});
const noYaml =
  py.status !== 0
    ? `python3 with PyYAML is needed to parse the docs' YAML (Debian: python3-yaml): ${(py.stderr || py.error?.message || '').trim().split('\n').pop()}`
    : undefined;
if (noYaml && process.env.CI === 'true') throw new Error(noYaml);

interface Webhook {
  name: string;
  type: string;
  url: string;
  timeout?: string;
  retries?: number;
  metadata?: Record<string, string>;
}
interface CanaryDoc {
  metadata: { name: string; namespace: string };
  spec: {
    analysis: {
      interval: string;
      threshold: number;
      maxWeight?: number;
      stepWeight?: number;
      stepWeights?: number[];
      webhooks: Webhook[];
    };
  };
}

// ---- port of pkg/controller/webhook.go ----
interface Payload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata?: Record<string, string>;
}
let calls: { hook: string; status: number; body: any }[] = [];

/** callWebhook + go-retryablehttp's DefaultRetryPolicy (backoff waits left out: nothing here is timed). */
async function callWebhook(url: string, payload: Payload, retries = 0): Promise<Error | undefined> {
  // encoding/json: struct field order; `metadata,omitempty` drops a nil or empty map.
  const body = JSON.stringify({
    name: payload.name,
    namespace: payload.namespace,
    phase: payload.phase,
    checksum: payload.checksum,
    ...(payload.metadata && Object.keys(payload.metadata).length ? { metadata: payload.metadata } : {}),
  });
  for (let attempt = 0; ; attempt++) {
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (attempt < retries) continue;
      return err as Error;
    }
    calls.push({ hook: new URL(url).pathname.split('/').pop()!, status, body: JSON.parse(text) });
    const retry = status === 429 || (status >= 500 && status !== 501) || status === 0;
    if (retry && attempt < retries) continue;
    return status > 202 ? new Error(text) : undefined;
  }
}

function callEventWebhook(
  c: FlaggerCanary,
  w: Webhook,
  message: string,
  eventType: string,
  now: number,
): Promise<Error | undefined> {
  const metadata: Record<string, string> = { eventMessage: message, eventType, timestamp: String(now) };
  for (const [k, v] of Object.entries(w.metadata ?? {})) if (!(k in metadata)) metadata[k] = v;
  return callWebhook(
    w.url,
    { name: c.name, namespace: c.namespace, phase: c.phase, checksum: c.checksum, metadata },
    w.retries,
  );
}

// ---- port of the canary strategy in pkg/controller/scheduler.go and scheduler_hooks.go ----
interface FlaggerCanary {
  name: string;
  namespace: string;
  checksum: string;
  phase:
    | 'Initialized'
    | 'Waiting'
    | 'Progressing'
    | 'WaitingPromotion'
    | 'Promoting'
    | 'Finalising'
    | 'Succeeded'
    | 'Failed';
  canaryWeight: number;
  failedChecks: number;
  iterations: number;
  analysis: CanaryDoc['spec']['analysis'];
}

const hooksOf = (c: FlaggerCanary, type: string) =>
  c.analysis.webhooks.filter((w) => w.type === type || (type === 'rollout' && !w.type));
const call = (c: FlaggerCanary, w: Webhook, phase: string = c.phase) =>
  callWebhook(
    w.url,
    { name: c.name, namespace: c.namespace, phase, checksum: c.checksum, metadata: w.metadata },
    w.retries,
  );

function maxWeight(c: FlaggerCanary): number {
  const sw = c.analysis.stepWeights ?? [];
  if (sw.length > 0) return Math.min(100, sw[sw.length - 1]);
  return (c.analysis.maxWeight ?? 0) > 0 ? c.analysis.maxWeight! : 100;
}
function nextStepWeight(c: FlaggerCanary, w: number): number {
  const sw = c.analysis.stepWeights ?? [];
  if ((c.analysis.stepWeight ?? 0) > 0 || sw.length === 0) return c.analysis.stepWeight ?? 0;
  const maxStep = 100 - w;
  if (maxStep === 0) return 1;
  if (w === 0) return Math.min(maxStep, sw[0]);
  for (let i = 0; i < sw.length - 1; i++) if (sw[i] === w) return Math.min(maxStep, sw[i + 1] - w);
  return maxStep;
}
async function runHooks(c: FlaggerCanary, type: string, phase?: string): Promise<boolean> {
  for (const w of hooksOf(c, type)) if (await call(c, w, phase)) return false;
  return true;
}
async function runRollbackHooks(c: FlaggerCanary): Promise<boolean> {
  for (const w of hooksOf(c, 'rollback')) if (!(await call(c, w))) return true;
  return false;
}
async function event(c: FlaggerCanary, message: string, now: number): Promise<void> {
  for (const w of hooksOf(c, 'event')) await callEventWebhook(c, w, message, 'Normal', now);
}
async function rollback(c: FlaggerCanary, now: number): Promise<void> {
  c.canaryWeight = 0;
  c.phase = 'Failed';
  await event(c, `Canary failed! Scaling down ${c.name}.${c.namespace}`, now);
  await runHooks(c, 'post-rollout', 'Failed');
}

/** One `advanceCanary` tick for the canary strategy (checkCanaryStatus's confirm-rollout gate included). */
async function advance(c: FlaggerCanary, now: number): Promise<void> {
  if (c.phase === 'Succeeded' || c.phase === 'Failed') return;
  if (c.phase === 'Initialized' || c.phase === 'Waiting') {
    // checkCanaryStatus: a new revision waits for every confirm-rollout hook before Progressing.
    if (!(await runHooks(c, 'confirm-rollout'))) {
      c.phase = 'Waiting';
      return;
    }
    c.phase = 'Progressing';
    await event(c, `New revision detected! Scaling up ${c.name}.${c.namespace}`, now);
    return;
  }
  if (c.phase === 'Progressing' || c.phase === 'WaitingPromotion') {
    if (await runRollbackHooks(c)) return rollback(c, now);
  }
  if (c.phase === 'Promoting') {
    c.phase = 'Finalising'; // runPromotionTrafficShift, stepWeightPromotion 0: all traffic to primary at once
    c.canaryWeight = 0;
    return;
  }
  if (c.phase === 'Finalising') {
    c.phase = 'Succeeded';
    await runHooks(c, 'post-rollout', 'Succeeded');
    await event(c, 'Promotion completed!', now);
    return;
  }
  if ((c.phase === 'Progressing' || c.phase === 'WaitingPromotion') && c.failedChecks >= c.analysis.threshold)
    return rollback(c, now);
  if (c.canaryWeight === 0 && c.iterations === 0) {
    if (!(await runHooks(c, 'pre-rollout'))) {
      c.failedChecks++;
      return;
    }
  } else if (!(await runHooks(c, 'rollout'))) {
    c.failedChecks++;
    return;
  }
  if (nextStepWeight(c, c.canaryWeight) > 0) {
    if (c.phase !== 'WaitingPromotion' && !(await runHooks(c, 'confirm-traffic-increase'))) return;
    // runCanary
    if (c.canaryWeight < maxWeight(c)) {
      c.canaryWeight = Math.min(100, c.canaryWeight + nextStepWeight(c, c.canaryWeight));
      await event(c, `Advance ${c.name}.${c.namespace} canary weight ${c.canaryWeight}`, now);
      return;
    }
    if (!(await runHooks(c, 'confirm-promotion'))) {
      if (c.phase !== 'WaitingPromotion') c.phase = 'WaitingPromotion';
      return;
    }
    c.phase = 'Promoting';
  }
}

// ---- the Riskgate under test ----
const TOKEN = 'flagger-shop-token-0000000001';
let clock = Date.parse('2026-12-05T00:00:00Z');
let store: Store;
let server: Server;
let base: string;

before(async () => {
  const config = loadConfig({
    RISKGATE_LOG_LEVEL: 'silent',
    RISKGATE_API_KEYS: `flagger:score:${TOKEN}`,
    RISKGATE_KEY_BINDINGS: 'flagger=service:shop/*',
  });
  assert.equal(config.host, '0.0.0.0', 'with keys the server binds every interface, so Flagger can reach it');
  assert.equal(loadConfig({ RISKGATE_LOG_LEVEL: 'silent' }).host, '127.0.0.1', 'without keys: loopback only');
  store = openStore(':memory:');
  const app = createApp({
    store,
    config,
    scorer: fixedScorer(0.2),
    logger: silent,
    defaultMetrics: false,
    anonymousOk: isFlaggerHookPath,
    extraRouters: [createCanaryRouter({ store, apiKeys: config.apiKeys, now: () => clock })],
  });
  server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const r = mulberry32(155);
const samples = (center: number) => Array.from({ length: 300 }, () => center * Math.exp(0.1 * normal(r)));

/** The docs' Canary with URLs pointed at the test server, the token filled in and the queries replaced by samples. */
function docCanary(checksum: string, canaryCenter: number): FlaggerCanary {
  const doc = JSON.parse(py.stdout) as CanaryDoc;
  for (const w of doc.spec.analysis.webhooks) {
    const u = new URL(w.url);
    assert.equal(
      u.origin,
      'http://riskgate.riskgate.svc',
      'the snippet calls the Service of deploy/kubernetes.yaml (port 80)',
    );
    w.url = base + u.pathname;
    const m = { ...(w.metadata ?? {}) };
    assert.equal(m.token, 'REPLACE_WITH_THE_FLAGGER_KEY_TOKEN');
    m.token = TOKEN;
    if (m.metrics) {
      const specs = JSON.parse(m.metrics) as Record<string, unknown>[];
      for (const s of specs)
        assert.ok(MetricSpec.safeParse(s).success, `the snippet's metric ${String(s.name)} is a valid spec`);
      m.metrics = JSON.stringify(
        specs.map(({ query: _q, ...s }) => ({ ...s, baseline: samples(100), canary: samples(canaryCenter) })),
      );
    }
    w.metadata = m;
  }
  return {
    name: doc.metadata.name,
    namespace: doc.metadata.namespace,
    checksum,
    phase: 'Initialized',
    canaryWeight: 0,
    failedChecks: 0,
    iterations: 0,
    analysis: doc.spec.analysis,
  };
}

test(
  "docs snippet: a harmless canary climbs Flagger's own steps and is promoted; Riskgate judges the step Flagger is at",
  { skip: noYaml },
  async () => {
    const c = docCanary('chk-good', 100);
    assert.equal(c.analysis.stepWeight, 10);
    assert.equal(
      c.analysis.webhooks.find((w) => w.type === 'confirm-traffic-increase')!.metadata!.stepWeight,
      String(c.analysis.stepWeight),
      'metadata repeats stepWeight',
    );
    const seen: number[] = [];
    const looks: number[] = [];
    for (let tick = 0; tick < 40 && c.phase !== 'Succeeded' && c.phase !== 'Failed'; tick++) {
      calls = [];
      const flaggerWeight = c.canaryWeight;
      await advance(c, clock);
      for (const x of calls)
        assert.ok(
          x.status <= 202 || x.status === 409 || x.status === 403,
          `${x.hook}: ${x.status} ${JSON.stringify(x.body)}`,
        );
      const judged = calls.filter((x) => 'weight' in x.body);
      // Every judging hook of this interval judged the weight Flagger is at, and they were one look.
      for (const x of judged)
        assert.equal(
          x.body.weight,
          flaggerWeight,
          `${x.hook} judged weight ${x.body.weight}; Flagger is at ${flaggerWeight}`,
        );
      if (judged.length) {
        assert.equal(
          new Set(judged.map((x) => x.body.look)).size,
          1,
          `one look per interval: ${judged.map((x) => `${x.hook}:${x.body.look}`)}`,
        );
        looks.push(judged[0].body.look);
      }
      seen.push(c.canaryWeight);
      clock += 60_000;
    }
    if (process.env.FLAGGER_TRACE) console.log('weights', seen, 'looks', looks);
    assert.equal(c.phase, 'Succeeded', `phases ended at ${c.phase}, weights ${seen}`);
    for (const w of seen) assert.ok(w % 10 === 0 && w <= 50, `only Flagger's steps: ${seen}`);
    assert.ok(seen.includes(50), 'reached maxWeight before promotion');
    for (let i = 1; i < looks.length; i++)
      assert.equal(looks[i], looks[i - 1] + 1, `evidence never reset or double-counted: looks ${looks}`);
    const outcome = store
      .listEvents('canary_outcome', { key: 'shop/checkout' })
      .find((e) => e.payload.version === 'chk-good');
    assert.equal(outcome?.payload.outcome, 'promoted', 'post-rollout (phase Succeeded) recorded the outcome');
    assert.ok(
      store
        .listEvents(FLAGGER_EVENT, { key: 'shop/checkout' })
        .some((e) => String(e.payload.message).startsWith('Advance checkout.shop canary weight')),
    );
  },
);

test(
  'docs snippet: a 10× slower canary is rolled back by the rollback hook before it gets traffic',
  { skip: noYaml },
  async () => {
    const c = docCanary('chk-slow', 1000);
    for (let tick = 0; tick < 10 && c.phase !== 'Failed' && c.phase !== 'Succeeded'; tick++) {
      await advance(c, clock);
      clock += 60_000;
    }
    assert.equal(c.phase, 'Failed');
    const outcome = store
      .listEvents('canary_outcome', { key: 'shop/checkout' })
      .find((e) => e.payload.version === 'chk-slow');
    assert.equal(outcome?.payload.outcome, 'rolled_back');
  },
);

test(
  'without the token every hook is an error to Flagger (401 > 202): pre-rollout failures reach the threshold and roll back',
  { skip: noYaml },
  async () => {
    const c = docCanary('chk-notoken', 100);
    for (const w of c.analysis.webhooks) delete w.metadata!.token;
    calls = [];
    for (let tick = 0; tick < 10 && c.phase !== 'Failed'; tick++) {
      await advance(c, clock);
      clock += 60_000;
    }
    assert.ok(calls.length > 0 && calls.every((x) => x.status === 401), 'every hook answered 401');
    assert.equal(c.canaryWeight, 0, 'no traffic without authentication');
    assert.equal(c.phase, 'Failed', `threshold ${c.analysis.threshold} failed pre-rollout checks roll back`);
  },
);

test('status semantics: a "no" is 409 (not retried); metrics unavailable is 503 (retried `retries` times)', async () => {
  const hook = (h: string, metadata: Record<string, string>) => ({
    url: `${base}/v1/canary/flagger/${h}`,
    payload: {
      name: 'cart',
      namespace: 'shop',
      phase: 'Progressing',
      checksum: 'chk-x',
      metadata: { token: TOKEN, stepWeight: '10', maxWeight: '50', ...metadata },
    },
  });
  // Flagger's retryablehttp client: 4xx are final, so a 409 costs one call.
  calls = [];
  const bad = JSON.stringify([
    { name: 'latency', direction: 'increase', critical: true, baseline: samples(100), canary: samples(1000) },
  ]);
  const no = hook('confirm-promotion', { metrics: bad });
  assert.ok(await callWebhook(no.url, no.payload, 3));
  assert.deepEqual(
    calls.map((x) => x.status),
    [409],
  );
  // A query with no Prometheus configured: unavailable, 503, retried.
  calls = [];
  const q = JSON.stringify([{ name: 'latency', direction: 'increase', query: { canary: 'up', baseline: 'up' } }]);
  const unavailable = hook('rollout', { metrics: q });
  const err = await callWebhook(unavailable.url, unavailable.payload, 2);
  assert.ok(err);
  assert.deepEqual(
    calls.map((x) => x.status),
    [503, 503, 503],
  );
  assert.match(err.message, /metrics unavailable/);
  // Every hook type Flagger has is accepted; post-rollout outside a rollout's end and event are 2xx.
  for (const [h, ok] of [
    ['event', 200],
    ['post-rollout', 200],
    ['confirm-rollout', 200],
    ['pre-rollout', 200],
  ] as const) {
    calls = [];
    const x = hook(h, { risk: '0.1' });
    assert.equal(await callWebhook(x.url, x.payload), undefined, h);
    assert.equal(calls[0].status, ok);
  }
  const risky = hook('confirm-rollout', { risk: '0.9' });
  calls = [];
  assert.ok(await callWebhook(risky.url, risky.payload));
  assert.equal(calls[0].status, 409, 'confirm-rollout: Flagger waits');
});
