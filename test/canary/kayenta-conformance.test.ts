/**
 * Kayenta conformance: Riskgate's remote judge called as Kayenta calls it, and its score read as Kayenta
 * reads it. Ported from spinnaker/kayenta at a69573be9d8fededacf80817e4151a2c8df41276:
 *  - kayenta-judge/src/main/scala/com/netflix/kayenta/judge/RemoteJudge.java and service/RemoteJudgeService.java:
 *    a Retrofit client with only a base URL, `@POST("/judge")` appended to it, the body a
 *    RemoteJudgeRequest (model/RemoteJudgeRequest.java) written by Jackson — NaN and the infinities as
 *    the strings "NaN", "Infinity", "-Infinity" (QUOTE_NON_NUMERIC_NUMBERS, on by default) — and no
 *    Authorization header; kayenta-core/.../retrofit/config/RetrofitClientFactory.java strips a trailing
 *    "/" from the base URL (a path in it is kept, as kayenta-web/config/kayenta.yml's example shows);
 *  - kayenta-judge/.../scorers/ScoringHelper.scala and WeightedSumScorer.scala, and
 *    classifiers/score/ThresholdScoreClassifier.scala: the score of the answer's own classifications,
 *    recomputed below line by line (`kayentaWeightedSum`), must be the score Riskgate answered;
 *  - kayenta-core/.../canary/results/CanaryAnalysisResult.java: each result carries `tags` and `muted`;
 *  - kayenta-standalone-canary-analysis/.../orca/task/MonitorCanaryTask.java (line ~116): the run fails
 *    when `canaryScore <= marginal`.
 * The canary configs are Kayenta's own fixtures (test/canary/fixtures/kayenta/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { kayentaScore, roundHalfUp2 } from '../../src/canary/kayenta.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';
import { serveApp, testConfig, type TestServer } from '../api/helpers.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { parseYamlDocuments, yamlBlocks } from '../support/yaml.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/kayenta/${name}`, import.meta.url), 'utf8'));

const TOKEN = 'kayenta-remote-judge-token-0123456789';
const OTHER = 'reporting-only-token-0123456789abcdef';
const logLines: string[] = [];
let srv: TestServer;

before(async () => {
  const store = openStore(':memory:');
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  srv = await serveApp({
    store,
    config: testConfig({ RISKGATE_API_KEYS: `kayenta:score:${TOKEN},reports:report:${OTHER}` }),
    logger: pino({ level: 'info' }, sink),
    extraRouters: [createCanaryRouter({ store })],
  });
});
after(() => srv.close());

/** Jackson's default writing of doubles: non-finite numbers become quoted strings. */
const jackson = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));

/** RemoteJudge.judge(): POST <base-url>/judge, Jackson body, no Authorization header. */
async function remoteJudge(
  baseUrl: string,
  canaryConfig: unknown,
  scoreThresholds: { pass: number; marginal: number },
  metricSetPairList: unknown[],
) {
  const res = await fetch(`${baseUrl.replace(/\/$/, '')}/judge`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=UTF-8' },
    body: jackson({ canaryConfig, scoreThresholds, metricSetPairList }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** MonitorCanaryTask: `canaryScore <= marginal` → TERMINAL, else SUCCEEDED. */
const monitor = (score: number, marginal: number) => (score <= marginal ? 'TERMINAL' : 'SUCCEEDED');

/**
 * WeightedSumScorer.score + ThresholdScoreClassifier, line by line from the Scala, over the results the
 * judge answered (ScoringHelper filters `!_.isMuted` first).
 */
function kayentaWeightedSum(all: any[], groupWeights: Record<string, number>, pass: number, marginal: number) {
  const results = all.filter((r) => !r.muted);
  const groupLabels = new Map<string, string[]>();
  for (const m of results)
    for (const g of m.groups) groupLabels.set(g, [...(groupLabels.get(g) ?? []), m.classification]);
  const groupScores = [...groupLabels].map(([name, labels]) => {
    const count = (l: string) => labels.filter((x) => x === l).length;
    const numTotal = count('High') + count('Low') + count('Pass') + count('NodataFailMetric');
    const hasNoData = numTotal === 0;
    return { name, score: hasNoData ? 0.0 : (count('Pass') / numTotal) * 100, noData: hasNoData };
  });
  let summary: number;
  const failures = results.filter((r) => r.critical && r.classification !== 'Pass');
  const nodataPercent = (results.filter((r) => r.classification === 'Nodata').length / results.length) * 100;
  if (failures.length) summary = 0.0;
  else if (nodataPercent >= 50) summary = 0.0;
  else {
    const weights = new Map(Object.entries(groupWeights));
    const groupWeightSum = [...weights.values()].reduce((a, b) => a + b, 0);
    const groupDifference = groupScores.filter((g) => !weights.has(g.name));
    const calculatedWeight = groupDifference.length ? (100 - groupWeightSum) / groupDifference.length : 0.0;
    let s = 0.0;
    for (const g of groupScores) s += (g.noData ? 100.0 : g.score) * ((weights.get(g.name) ?? calculatedWeight) / 100);
    summary = roundHalfUp2(s);
  }
  const classification = summary >= pass ? 'Pass' : summary >= marginal ? 'Marginal' : 'Fail';
  return { summary, classification, groupScores };
}

const r = mulberry32(7);
const series = (n: number, center: number, sd: number) => Array.from({ length: n }, () => center + sd * normal(r));
const same = () => ({ control: series(300, 100, 5), experiment: series(300, 100, 5) });
const worse = () => ({ control: series(300, 100, 5), experiment: series(300, 160, 5) });

test("Kayenta's muted-metric fixture: the muted critical regression is reported but not scored", async () => {
  const cfg = fixture('muted-metric.json');
  const { pass, marginal } = cfg.classifier.scoreThresholds;
  const pairs = [
    { name: 'Failing metric', id: 'a', tags: { pod: 'p-1' }, values: worse() },
    { name: 'Successful metric', id: 'b', tags: {}, values: same() },
  ];
  const a = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass, marginal }, pairs);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const [failing, ok] = a.body.results;
  assert.equal(failing.classification, 'High');
  assert.equal(failing.muted, true);
  assert.equal(failing.critical, true);
  assert.deepEqual(failing.tags, { pod: 'p-1' });
  assert.equal(ok.muted, false);
  assert.deepEqual(ok.tags, {});
  assert.equal(ok.classification, 'Pass');
  // A muted critical regression would otherwise make the score 0.
  assert.equal(a.body.score.score, 100);
  assert.equal(a.body.score.classification, 'Pass');
  assert.doesNotMatch(
    a.body.score.classificationReason,
    /Failing metric:|critical metric Failing/,
    'the reason does not blame a muted metric',
  );
  assert.match(a.body.score.classificationReason, /muted, not scored: Failing metric/);
  const k = kayentaWeightedSum(a.body.results, cfg.classifier.groupWeights, pass, marginal);
  assert.equal(a.body.score.score, k.summary);
  assert.equal(monitor(a.body.score.score, marginal), 'SUCCEEDED');

  // Unmuted, the same data fails: a critical metric that is not Pass scores 0.
  const unmuted = structuredClone(cfg);
  unmuted.metrics[0].analysisConfigurations.canary.muted = false;
  const b = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, unmuted, { pass, marginal }, pairs);
  assert.equal(b.body.score.score, 0);
  assert.equal(b.body.score.classification, 'Fail');
  assert.match(b.body.score.classificationReason, /^Canary Failed: /);
  assert.equal(monitor(b.body.score.score, marginal), 'TERMINAL');
});

test("Kayenta's test-config fixture: weights are percentages and unweighted groups share the rest", async () => {
  const cfg = fixture('test-config.json');
  // requests 50 + system 50 leave 0 for the unweighted groups `example` and `bar`.
  const pairs = [
    { name: 'cpu', values: worse() }, // groups system, example
    { name: 'requests', values: same() }, // groups requests, example
    { name: 'foo', values: worse() }, // group bar
  ];
  const a = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass: 95, marginal: 75 }, pairs);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(
    a.body.results.map((x: any) => x.classification),
    ['High', 'Pass', 'High'],
  );
  const k = kayentaWeightedSum(a.body.results, cfg.classifier.groupWeights, 95, 75);
  // system 0 × 50 % + requests 100 × 50 % + example 50 × 0 % + bar 0 × 0 %.
  assert.equal(k.summary, 50);
  assert.equal(a.body.score.score, k.summary);
  assert.equal(a.body.score.classification, 'Fail');
  const byName = new Map(a.body.groupScores.map((g: any) => [g.name, g.score]));
  for (const g of k.groupScores) assert.equal(byName.get(g.name), g.score, g.name);

  // Only `requests` weighted (30): the other three share 70 equally.
  const w = structuredClone(cfg);
  w.classifier.groupWeights = { requests: 30 };
  const b = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, w, { pass: 95, marginal: 75 }, pairs);
  const kb = kayentaWeightedSum(b.body.results, w.classifier.groupWeights, 95, 75);
  assert.equal(kb.summary, roundHalfUp2(100 * 0.3 + 0 * (70 / 3 / 100) + 50 * (70 / 3 / 100) + 0));
  assert.equal(b.body.score.score, kb.summary);
});

test('a score at the marginal threshold fails the run (MonitorCanaryTask: score <= marginal)', async () => {
  const cfg = {
    name: 'edge',
    metrics: [
      { name: 'a', groups: ['g'], analysisConfigurations: { canary: { direction: 'increase' } } },
      { name: 'b', groups: ['g'], analysisConfigurations: { canary: { direction: 'increase' } } },
    ],
    classifier: { groupWeights: { g: 100 } },
  };
  const a = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass: 95, marginal: 50 }, [
    { name: 'a', values: same() },
    { name: 'b', values: worse() },
  ]);
  assert.equal(a.body.score.score, 50);
  assert.equal(a.body.score.classification, 'Marginal', 'ThresholdScoreClassifier: score >= marginal is Marginal…');
  assert.equal(monitor(a.body.score.score, 50), 'TERMINAL', '…and the run still fails on it');
});

test('Jackson\'s "NaN", "Infinity" and "-Infinity" are accepted; NaN per nanStrategy, infinities dropped and said', async () => {
  const cfg = {
    metrics: [
      {
        name: 'm',
        groups: ['g'],
        analysisConfigurations: { canary: { direction: 'increase', nanStrategy: 'replace' } },
      },
    ],
  };
  const v = same();
  const a = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass: 95, marginal: 75 }, [
    { name: 'm', values: { control: [...v.control, NaN, null], experiment: [...v.experiment, Infinity, -Infinity] } },
  ]);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.results[0].controlMetadata.stats.count, 302, 'NaN and null replaced by 0');
  assert.equal(a.body.results[0].experimentMetadata.stats.count, 300);
  assert.match(a.body.results[0].classificationReason, /2 infinite values dropped/);
  const bad = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass: 95, marginal: 75 }, [
    { name: 'm', values: { control: ['Inf'], experiment: [1] } },
  ]);
  assert.equal(bad.status, 400);
  assert.ok(
    bad.body.details.some((d: any) => d.path.startsWith('metricSetPairList.0.values.control')),
    JSON.stringify(bad.body),
  );
  const unknown = await remoteJudge(`${srv.url}/kayenta/${TOKEN}`, cfg, { pass: 95, marginal: 75 }, [
    { name: 'nope', values: v },
  ]);
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.details[0].path, 'metricSetPairList.0.name');
});

test('groups named toString, constructor, __proto__ score like any other name', async () => {
  const pairs = [
    { name: 'a', values: same() },
    { name: 'b', values: worse() },
  ];
  const scores: number[] = [];
  for (const [ga, gb] of [
    ['perf', 'errors'],
    ['toString', 'constructor'],
    ['__proto__', 'hasOwnProperty'],
  ]) {
    const body = jackson({
      canaryConfig: {
        metrics: [
          { name: 'a', groups: [ga], analysisConfigurations: { canary: { direction: 'increase' } } },
          { name: 'b', groups: [gb], analysisConfigurations: { canary: { direction: 'increase' } } },
        ],
        classifier: { groupWeights: { [ga]: 80, [gb]: 20 } },
      },
      scoreThresholds: { pass: 95, marginal: 75 },
      metricSetPairList: pairs,
    }); // a computed `[ga]` key is an own property even for "__proto__", so JSON.stringify writes it
    const res = await fetch(`${srv.url}/kayenta/${TOKEN}/judge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const j = (await res.json()) as any;
    assert.equal(res.status, 200, JSON.stringify(j));
    scores.push(j.score.score);
    assert.ok(body.includes(`"${ga}":80`));
    assert.deepEqual(new Set(j.groupScores.map((g: any) => g.name)), new Set([ga, gb]));
  }
  assert.deepEqual(scores, [80, 80, 80]);
  // The scorer itself, given Maps, is indifferent to the names too.
  const res = [
    { classification: 'Pass' as const, classificationReason: '', groups: ['__proto__'], critical: false, muted: false },
  ];
  assert.equal(kayentaScore(res, new Map([['__proto__', 100]]), { pass: 95, marginal: 75 }).score, 100);
});

test("the documented kayenta.yml baseUrl, with Retrofit's `/judge` appended, reaches the judge", async () => {
  const md = readFileSync(new URL('../../docs/canary.md', import.meta.url), 'utf8');
  const doc = yamlBlocks(md)
    .filter((b) => b.includes('remoteJudge'))
    .flatMap((b) => parseYamlDocuments(b))[0] as any;
  assert.equal(doc.kayenta.remoteJudge.enabled, true);
  const documented: string = doc.kayenta.remoteJudge.endpoint.baseUrl;
  const m = /^http:\/\/riskgate\.riskgate\.svc(\/kayenta\/)\$\{RISKGATE_KAYENTA_TOKEN\}$/.exec(documented);
  assert.ok(m, documented);
  // Spring resolves ${RISKGATE_KAYENTA_TOKEN} from the environment; the host is this test's server.
  const a = await remoteJudge(
    `${srv.url}${m[1]}${TOKEN}`,
    { metrics: [{ name: 'm', groups: ['g'] }] },
    { pass: 95, marginal: 75 },
    [{ name: 'm', values: same() }],
  );
  assert.equal(a.status, 200);
  assert.equal(a.body.judgeName, 'riskgate-sequential-v1');
});

test('the path token authenticates Kayenta (no header), is checked like a bearer key and never logged', async () => {
  const cfg = { metrics: [{ name: 'm', groups: ['g'] }] };
  const pairs = [{ name: 'm', values: same() }];
  logLines.length = 0;
  const ok = await remoteJudge(`${srv.url}/kayenta/${TOKEN}/`, cfg, { pass: 95, marginal: 75 }, pairs);
  assert.equal(ok.status, 200);
  const wrong = await remoteJudge(`${srv.url}/kayenta/${TOKEN}x`, cfg, { pass: 95, marginal: 75 }, pairs);
  assert.equal(wrong.status, 401);
  const scope = await remoteJudge(`${srv.url}/kayenta/${OTHER}`, cfg, { pass: 95, marginal: 75 }, pairs);
  assert.equal(scope.status, 403, 'a key without the score scope is refused');
  const plain = await remoteJudge(srv.url, cfg, { pass: 95, marginal: 75 }, pairs);
  assert.equal(plain.status, 401, 'without the token, /judge still needs a bearer key');
  const other = await fetch(`${srv.url}/kayenta/${TOKEN}/v1/canary/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(other.status, 404, 'the path token opens the judge only');
  await new Promise((ok) => setImmediate(ok));
  const log = logLines.join('');
  assert.match(log, /\/kayenta\/\[redacted\]\/judge/);
  assert.ok(!log.includes(TOKEN), 'the token is not in the access log');
  assert.ok(!log.includes(OTHER));
});
