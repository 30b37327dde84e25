/**
 * Argo Rollouts conformance: the AnalysisTemplate and Rollout snippets of docs/canary.md, read from the
 * docs, run as Argo runs them — args built from the Rollout step, merged with the template's, secrets
 * resolved, substituted into the metric's JSON, the web provider's request sent to a real Riskgate
 * server, `jsonPath` applied and the conditions evaluated in expr. The Argo side is ported in
 * test/support/argo.ts from argoproj/argo-rollouts 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d
 * (utils/template/template.go, utils/analysis/factory.go, utils/analysis/helpers.go,
 * analysis/analysis.go, metricproviders/webmetric/webmetric.go, utils/evaluate/evaluate.go and its
 * _test.go for the expr cases below). With a real Prometheus (Debian package) the documented PromQL
 * is answered from scraped data; without it that part skips (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { serveApp, testConfig, type TestServer } from '../api/helpers.ts';
import {
  ArgoError,
  buildRolloutArgs,
  evalCondition,
  evaluateResult,
  mergeArgs,
  resolveMetricArgs,
  resolveSecretArgs,
  runWebMetric,
  type Argument,
  type WebMetric,
} from '../support/argo.ts';
import { PROMETHEUS, requireBinary, startPrometheus } from '../support/prometheus.ts';
import { parseYamlDocuments, yamlBlocks } from '../support/yaml.ts';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');
const docs = yamlBlocks(read('../../docs/canary.md')).flatMap((b) => {
  // Only Argo's snippets: the Flagger ones use YAML anchors, which the small reader refuses.
  return b.includes('argoproj.io/') ? parseYamlDocuments(b) : [];
}) as any[];
const template = docs.find((d) => d.kind === 'AnalysisTemplate');
const rollout = docs.find((d) => d.kind === 'Rollout');
const TOKEN = 'argo-rollouts-analysis-token-0123456789';
const SECRETS = { 'riskgate-argo': { 'api-key': TOKEN } };
const HASHES = { latest: '6d4f8b9c7d', stable: '5c8d7f6b4a' };
const DOC_BASE = 'http://riskgate.riskgate.svc';

/** The analysis steps of the Rollout, each resolved into the metric Argo would run. */
function analysisRuns(): { weight: string; metric: WebMetric; args: Argument[] }[] {
  const steps = rollout.spec.strategy.canary.steps.filter((s: any) => s.analysis);
  return steps.map((s: any) => {
    assert.deepEqual(s.analysis.templates, [{ templateName: template.metadata.name }]);
    const args = resolveSecretArgs(mergeArgs(buildRolloutArgs(s.analysis.args, HASHES), template.spec.args), SECRETS);
    const metric = resolveMetricArgs(template.spec.metrics[0], args) as WebMetric;
    return { weight: args.find((a) => a.name === 'weight')!.value!, metric, args };
  });
}

const pointAt = (m: WebMetric, base: string): WebMetric => {
  assert.ok(m.provider.web.url.startsWith(`${DOC_BASE}/`), m.provider.web.url);
  return { ...m, provider: { web: { ...m.provider.web, url: base + m.provider.web.url.slice(DOC_BASE.length) } } };
};

async function riskgate(prometheusUrl?: string): Promise<TestServer> {
  const store = openStore(':memory:');
  return serveApp({
    store,
    config: testConfig({ RISKGATE_API_KEYS: `argo:score:${TOKEN}` }),
    extraRouters: [createCanaryRouter({ store, prometheusUrl })],
  });
}

test('the documented snippets are valid for Argo: args declared, values strings, the Service port', () => {
  assert.ok(template && rollout, 'docs/canary.md has an AnalysisTemplate and a Rollout snippet');
  const declared = new Set(template.spec.args.map((a: Argument) => a.name));
  const used = new Set(
    [...JSON.stringify(template.spec.metrics).matchAll(/\{\{\s*args\.([^}\s]+)\s*\}\}/g)].map((m) => m[1]),
  );
  for (const u of used) assert.ok(declared.has(u), `{{args.${u}}} is declared`);
  const key = template.spec.args.find((a: Argument) => a.name === 'api-key');
  assert.ok(key.valueFrom?.secretKeyRef, 'the API key comes from a Secret');
  // Non-overlapping looks: the window is the measurement interval.
  const metric = template.spec.metrics[0];
  assert.equal(metric.provider.web.jsonBody.prometheus.window_s, Number(/^(\d+)m$/.exec(metric.interval)![1]) * 60);
  // AnalysisRunArgument.value is a Go string: a YAML number there is refused by the CRD schema.
  for (const s of rollout.spec.strategy.canary.steps)
    for (const a of s.analysis?.args ?? []) if ('value' in a) assert.equal(typeof a.value, 'string', `arg ${a.name}`);
  // Every step's args resolve the template (MergeArgs would fail the run on one left without a value).
  assert.equal(analysisRuns().length, 2);
  // The URL is the Service of deploy/kubernetes.yaml on its port.
  const service = parseYamlDocuments(read('../../deploy/kubernetes.yaml')).find(
    (d: any) => d.kind === 'Service',
  ) as any;
  const url = new URL(template.spec.metrics[0].provider.web.url);
  assert.equal(url.hostname.split('.')[0], service.metadata.name);
  assert.equal(Number(url.port || 80), service.spec.ports[0].port);
});

test("the issue's template is refused by Argo's resolver; a weight resolved to a string is not refused by Riskgate", async () => {
  const old = structuredClone(template);
  old.spec.args = old.spec.args.filter((a: Argument) => a.name !== 'api-key');
  const args = mergeArgs(buildRolloutArgs(rollout.spec.strategy.canary.steps[1].analysis.args, HASHES), old.spec.args);
  assert.throws(
    () => resolveMetricArgs(old.spec.metrics[0], args),
    (e: Error) => e instanceof ArgoError && e.message === 'failed to resolve {{args.api-key}}',
  );
  const noWeight = structuredClone(rollout.spec.strategy.canary.steps[1].analysis.args).filter(
    (a: Argument) => a.name !== 'weight',
  );
  assert.throws(
    () => mergeArgs(buildRolloutArgs(noWeight, HASHES), template.spec.args),
    /args.weight was not resolved/,
  );

  const srv = await riskgate();
  try {
    const [run] = analysisRuns();
    assert.match(
      run.metric.provider.web.jsonBody ? JSON.stringify(run.metric.provider.web.jsonBody) : '',
      /"current_weight":"10"/,
      'Argo sends the weight as a string',
    );
    const m = await runWebMetric(pointAt(run.metric, srv.url));
    assert.notEqual(m.phase, 'Error', m.message);
    // A weight resolved to nothing (an empty arg) is still a clear 400 naming the field.
    const empty = resolveMetricArgs(
      template.spec.metrics[0],
      run.args.map((a) => (a.name === 'weight' ? { ...a, value: '' } : a)),
    ) as WebMetric;
    const res = await fetch(`${srv.url}/v1/canary/argo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(empty.provider.web.jsonBody),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as any).details[0].path, 'current_weight');
    assert.equal((await runWebMetric(pointAt(empty, srv.url))).phase, 'Error', 'non-2xx is an Error measurement');
  } finally {
    await srv.close();
  }
});

test("the documented conditions in Argo's expr, on each decision Riskgate answers", () => {
  const metric = template.spec.metrics[0];
  assert.equal(evaluateResult({ decision: 'pass', score: 100 }, metric).phase, 'Successful');
  assert.equal(evaluateResult({ decision: 'fail', score: 0 }, metric).phase, 'Failed');
  assert.equal(evaluateResult({ decision: 'inconclusive', score: 50 }, metric).phase, 'Inconclusive');
  // Cases from utils/evaluate/evaluate_test.go, so the expr port is held to expr's own behaviour.
  assert.equal(evalCondition(true, 'result == true'), true);
  assert.equal(evalCondition(true, 'result == false'), false);
  assert.throws(() => evalCondition(true, '1'), /expected bool, but got int/);
  assert.throws(() => evalCondition(true, 'invalidVariable'), /unknown name invalidVariable/);
  assert.equal(evalCondition([2, 2], '2 in result'), true);
  assert.equal(evalCondition(5, 'result > 1'), true);
  assert.throws(() => evalCondition('1.1', 'asInt(result) == 1.1'));
  for (const [input, expr] of [
    ['1', 'asInt(result) == 1'],
    [1, 'asInt(result) == 1'],
    [1.123, 'asInt(result) == 1'],
    ['1.1', 'asFloat(result) == 1.1'],
    ['1.1', 'asFloat(result) >= 1.1'],
    [1, 'asFloat(result) >= 1'],
  ] as const)
    assert.equal(evalCondition(input, expr), true, expr);
  assert.throws(() => evalCondition('NotANum', 'asFloat(result) == 1.1'));
  assert.throws(() => evalCondition('1.1', 'asFloat(result) == "1.1"'), /mismatched types float64 and string/);
  // A condition on a field the answer does not have is an Error measurement, not a silent false.
  assert.equal(evaluateResult({ decision: 'pass' }, { successCondition: 'result.verdict.score > 1' }).phase, 'Error');
});

/** A service exposing http_requests_total by code and track, as the documented PromQL expects. */
function app(errorShare: Record<string, number>): Promise<Server> {
  const counts: Record<string, { ok: number; err: number }> = {};
  const srv = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end();
    let out = '# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n';
    for (const [track, share] of Object.entries(errorShare)) {
      const c = (counts[track] ??= { ok: 0, err: 0 });
      const n = 200 + Math.floor(Math.random() * 20);
      const e = Math.round(n * share * (0.5 + Math.random()));
      c.ok += n - e;
      c.err += e;
      out += `http_requests_total{code="200",track="${track}"} ${c.ok}\nhttp_requests_total{code="500",track="${track}"} ${c.err}\n`;
    }
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(out);
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

test(
  'the documented analysis, against a real Prometheus: a canary with 10 % errors is a Failed measurement',
  { timeout: 90_000 },
  async (t) => {
    if (!requireBinary(t, PROMETHEUS)) return;
    const target = await app({ canary: 0.1, baseline: 0.002 });
    const prom = await startPrometheus({ shop: `127.0.0.1:${(target.address() as AddressInfo).port}` });
    const srv = await riskgate(prom.url);
    try {
      await prom.waitFor(
        'count_over_time(http_requests_total{track="canary",code="500"}[1m])',
        (v) => v.length > 0 && v[0] >= 30,
      );
      const [first] = analysisRuns();
      const m = await runWebMetric(pointAt(first.metric, srv.url));
      assert.equal(m.request.headers.Authorization, `Bearer ${TOKEN}`);
      assert.equal(m.request.headers['Content-Type'], 'application/json');
      assert.equal(m.phase, 'Failed', `${m.message ?? ''} ${m.value}`);
      const v = JSON.parse(m.value!);
      assert.equal(v.decision, 'fail');
      assert.equal(v.action, 'rollback');
    } finally {
      await srv.close();
      await prom.stop();
      target.close();
    }
  },
);

test('the documented analysis without Prometheus configured: Inconclusive, never a pass', async () => {
  const srv = await riskgate();
  try {
    for (const run of analysisRuns()) {
      const m = await runWebMetric(pointAt(run.metric, srv.url));
      assert.equal(m.phase, 'Inconclusive', m.message);
      assert.match(JSON.parse(m.value!).reasons.join(' '), /no Prometheus URL/);
    }
  } finally {
    await srv.close();
  }
});
