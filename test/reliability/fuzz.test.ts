/**
 * Property-based fuzzing of every endpoint that reads a body, a query or a path parameter, over real HTTP
 * against the whole service (see harness.ts: seeded file store, trained gbdt champion).
 *
 * Inputs are either hostile documents of their own (wrong types, raw `NaN` / `1e999`, 10k–100k-deep
 * nesting, prototype keys as own keys, huge arrays, overlong and broken unicode) or a VALID request with
 * one field corrupted, deleted or one key added, so the fuzz gets past the top-level checks into the deep
 * validation. Every answer must be acceptable: a 2xx with a well-formed body (the mutation may happen to be
 * valid), or 400/404/409/413/415/422 with `{error, message, details?}` and no change to anything stored;
 * never a 5xx or a hang. Object.prototype (and friends) must be untouched afterwards.
 *
 * RISKGATE_FUZZ_SEED / RISKGATE_FUZZ_RUNS override the fixed seed and the run count (fast-check prints
 * the seed and the shrunk counterexample of a failure).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import { CircuitViewSchema } from '../../src/policy/circuit-schemas.ts';
import { OutcomeResponseSchema, RiskResponseSchema } from '../../src/serving/schemas.ts';
import { ArgoResult, CanaryDecisionResponse, KayentaJudgeResponse } from '../../src/canary/schemas.ts';
import { riskEventId } from '../../src/dashboard/data.ts';
import { send, startHarness, type Harness } from './harness.ts';

const KEY = 'fuzz-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };
const SEED = Number(process.env.RISKGATE_FUZZ_SEED ?? 20250611);
const RUNS = Number(process.env.RISKGATE_FUZZ_RUNS ?? 40);
/** Statuses a client mistake may get. 404: unknown model/repo/route (a mutated path); 409: a valid request the current state refuses. */
const REJECT = new Set([400, 404, 409, 413, 415, 422]);

let h: Harness;
let riskId: string;

// ---- prototype pollution probe ----
const PROTOS: [string, object][] = [
  ['Object', Object.prototype],
  ['Array', Array.prototype],
  ['Function', Function.prototype],
  ['String', String.prototype],
  ['Number', Number.prototype],
];
const protoState = () =>
  Object.fromEntries(PROTOS.map(([n, p]) => [n, Object.getOwnPropertyNames(p).sort().join(',')]));
let protoBaseline: Record<string, string>;
function assertNoPollution(ctx: string): void {
  assert.deepEqual(protoState(), protoBaseline, `prototype changed after ${ctx}`);
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'isAdmin', 'scopes', 'x'])
    assert.equal(probe[k], undefined, `Object.prototype.${k} after ${ctx}`);
}

// ---- generators ----
const MARK = '@@FUZZ_MARK@@';
const KEYMARK = '@@FUZZ_KEY@@';

/** A replacement written into the JSON text: a JSON value, or raw text JSON.stringify cannot make. */
type Evil = { raw: string; label: string };
const asJson = (v: unknown, label = 'json'): Evil => ({ raw: JSON.stringify(v), label });
const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const PROTO_RAW = [
  '{"__proto__":{"polluted":"yes","isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"prototype":{"polluted":"yes"}}',
  '[{"__proto__":{"polluted":"yes"}}]',
  '{"__proto__":[],"constructor":null,"prototype":1}',
  '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
];

const TRICKY_STRINGS = [
  '',
  ' ',
  '\t\n',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  'null',
  'true',
  '0',
  '-1',
  '1.5',
  '0x10',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\uD800',
  '\uDFFF',
  'a\uD800b',
  '\uDC00\uD800',
  '\u202Egnp.exe',
  '\u200B\u200C\u200D\uFEFF',
  '\u2066x\u2069',
  'مرحبا بالعالم',
  'שלום',
  '👩‍👩‍👧‍👦🚀🏳️‍🌈',
  'e\u0301\u0301\u0301',
  'a\u0000b',
  '\r\n\r\n',
  '%00',
  '%ED%A0%80',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE runs; --",
  '${process.exit()}',
  '{{7*7}}',
  'acme/web',
  'acme/web\u0000',
  'ACME/WEB',
  'acme/web/extra',
  'a/b/../c',
  '2024-01-01T00:00:00Z',
  '2024-02-30T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '2024-01-01',
];
const evilString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(5_000, 70_000, 400_000).map((n) => 'x'.repeat(n)) },
);
const evilNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, 1, 99.999, 100, 100.0001, 1e308, -1e308, 2 ** 53 + 1, 5e-324, 86_401, 1e21),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const evilJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: evilString },
  { weight: 3, arbitrary: evilNumber },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': null }, [[[]]], ['a', 1, null]) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(20_000, 120_000).map((n) => Array.from({ length: n }, (_, i) => i % 7)) },
  { weight: 1, arbitrary: fc.constantFrom(2_000, 20_000).map((n) => Array.from({ length: n }, (_, i) => `s${i}`)) },
);
const evilRaw: fc.Arbitrary<string> = fc.constantFrom(
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-1e999',
  '1e-999',
  '[NaN, 1e999, -1e999]',
  '{"a":NaN}',
  '"\\uD800"',
  '"\\uDFFF\\uD800"',
  '"\\u0000"',
  '"\\u202E"',
  '[1e999]',
  deepArrays(10_000),
  deepObjects(10_000),
  deepArrays(100_000),
  `{"x":${deepArrays(10_000)}}`,
  ...PROTO_RAW,
);
const evil: fc.Arbitrary<Evil> = fc.oneof(
  { weight: 5, arbitrary: evilJsonValue.map((v) => asJson(v)) },
  { weight: 2, arbitrary: evilRaw.map((raw) => ({ raw, label: `raw ${raw.slice(0, 40)}` })) },
);
const evilKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '',
    ' ',
    'extra',
    '\uD800',
    '👩‍👩‍👧‍👦',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

type Path = (string | number)[];
/** Every position in the document; of an array only the first two items, so long sample lists do not swamp the fields. */
function allPaths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.slice(0, 2).forEach((x, i) => out.push(...allPaths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...allPaths(x, [...at, k]));
  return out;
}

interface Mutation {
  pathIndex: number;
  op: 'replace' | 'delete' | 'addKey';
  evil: Evil;
  key: string;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  pathIndex: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'addKey'),
  evil,
  key: evilKey,
});

/** The valid document with one corruption, as JSON text (raw replacements and __proto__ keys go in as text). */
function applyMutation(valid: unknown, m: Mutation): { text: string; label: string } {
  const doc = structuredClone(valid);
  const paths = allPaths(doc);
  const path = paths[m.pathIndex % paths.length];
  const label = `${m.op} ${path.join('.') || '(root)'}`;
  const parentOf = (p: Path) => p.slice(0, -1).reduce<any>((o, k) => o[k], doc);
  if (m.op === 'replace') {
    if (path.length === 0) return { text: m.evil.raw, label: `${label} ← ${m.evil.label}` };
    parentOf(path)[path.at(-1)!] = MARK;
  } else if (m.op === 'delete') {
    if (path.length === 0) return { text: '', label };
    const parent = parentOf(path);
    if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
    else delete parent[path.at(-1)!];
    return { text: JSON.stringify(doc), label };
  } else {
    const target = path.reduce<any>((o, k) => o[k], doc);
    if (target && typeof target === 'object' && !Array.isArray(target)) target[KEYMARK] = MARK;
    else if (Array.isArray(target)) target.push(MARK);
    else if (path.length === 0) return { text: m.evil.raw, label };
    else parentOf(path)[path.at(-1)!] = { [KEYMARK]: MARK };
  }
  const text = JSON.stringify(doc)
    .replace(JSON.stringify(KEYMARK), () => JSON.stringify(m.key))
    .replace(JSON.stringify(MARK), () => m.evil.raw);
  return { text, label: `${label} ← ${m.evil.label}` };
}

/** Whole hostile documents, not derived from a valid one. */
const hostileBody: fc.Arbitrary<{ text: string; label: string; headers?: Record<string, string> }> = fc.oneof(
  evil.map((e) => ({ text: e.raw, label: e.label })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v), label: 'random json' })),
  fc.constantFrom<{ text: string; label: string; headers?: Record<string, string> }>(
    { text: '', label: 'empty' },
    { text: '{', label: 'truncated' },
    { text: '{"a":1}{"b":2}', label: 'two documents' },
    { text: '\uFEFF{}', label: 'BOM' },
    { text: `{"files":"${'x'.repeat(1_200_000)}"}`, label: 'over 1 MB' },
    { text: '{}', label: 'utf-16 charset', headers: { 'content-type': 'application/json; charset=utf-16' } },
    { text: '{}', label: 'vendor json type', headers: { 'content-type': 'application/vnd.riskgate+json' } },
    { text: '{}', label: 'gzip claimed', headers: { 'content-encoding': 'gzip' } },
    { text: '{}', label: 'text/plain', headers: { 'content-type': 'text/plain' } },
  ),
);

// ---- query strings and path parameters ----
/** encodeURIComponent throws on lone surrogates; those go in as U+FFFD here (raw bad bytes are fuzzed separately). */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
const enc = (s: string) => encodeURIComponent(wellFormed(s));
const evilQueryValue: fc.Arbitrary<string> = fc.oneof(
  evilString.filter((s) => s.length <= 6000),
  evilNumber.map(String),
  fc.constantFrom('NaN', '1e999', '-0', '0.5', '1e3', ' 12 ', '12abc', '[1]', '{"a":1}', '[]'),
);
const RAW_QUERY_SUFFIXES = [
  '&%ZZ=1',
  '&a=%E0%A4',
  '&%ED%A0%80=%ED%A0%80',
  '&__proto__=polluted',
  '&__proto__[polluted]=yes',
  '&constructor[prototype][polluted]=yes',
  '&prototype=1',
  '&a[b][c]=d',
  '&&&',
  '&=',
  '&repo',
  '&limit=1&limit=2',
  '&weeks[]=1',
  `&x=${'y'.repeat(6000)}`,
  '&%00=%00',
];
interface QueryMutation {
  op: 'replace' | 'delete' | 'addKey' | 'repeat' | 'raw';
  index: number;
  value: string;
  key: string;
  raw: string;
}
const queryMutation: fc.Arbitrary<QueryMutation> = fc.record({
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'addKey', 'repeat', 'raw'),
  index: fc.nat(),
  value: evilQueryValue,
  key: evilKey.filter((k) => k.length > 0),
  raw: fc.constantFrom(...RAW_QUERY_SUFFIXES),
});
function applyQueryMutation(valid: Record<string, string>, m: QueryMutation): { qs: string; label: string } {
  const entries = Object.entries(valid);
  const i = entries.length ? m.index % entries.length : 0;
  const pairs = entries.map(([k, v]) => `${enc(k)}=${enc(v)}`);
  let label: string = m.op;
  if (m.op === 'replace' && entries.length) {
    pairs[i] = `${enc(entries[i][0])}=${enc(m.value)}`;
    label = `replace ${entries[i][0]}`;
  } else if (m.op === 'delete' && entries.length) {
    pairs.splice(i, 1);
    label = `delete ${entries[i][0]}`;
  } else if (m.op === 'repeat' && entries.length) {
    pairs.push(`${enc(entries[i][0])}=${enc(m.value)}`);
    label = `repeat ${entries[i][0]}`;
  } else if (m.op === 'addKey') pairs.push(`${enc(m.key)}=${enc(m.value)}`);
  let qs = pairs.join('&');
  if (m.op === 'raw') qs += m.raw;
  return { qs, label };
}
const evilParam: fc.Arbitrary<{ p: string; label: string }> = fc.oneof(
  evilString.filter((s) => s.length > 0 && s.length <= 6000).map((s) => ({ p: enc(s), label: 'encoded' })),
  // ('.' is left out: the client normalises `/x/.` to `/x/`, which is another route.)
  fc
    .constantFrom(
      '%',
      '%FF',
      '%E0%A4',
      '%ED%A0%80',
      '%00',
      '..',
      '%2e%2e',
      'a%2Fb',
      '%2F',
      'x'.repeat(6000),
      '__proto__',
      'constructor',
      '%5F%5Fproto%5F%5F',
    )
    .map((p) => ({ p, label: `raw ${p.slice(0, 20)}` })),
);

// ---- the endpoints, each with a valid request ----
const samples = (seed: number, n: number, mean: number) =>
  Array.from({ length: n }, (_, i) =>
    Number((mean + (((i * 7919 + seed * 104729) % 1000) / 1000 - 0.5) * mean * 0.2).toFixed(5)),
  );
const metricsSpec = () => [
  {
    name: 'error_rate',
    direction: 'increase',
    critical: true,
    weight: 2,
    max_change: 0.2,
    baseline: samples(1, 30, 0.01),
    canary: samples(2, 30, 0.0105),
  },
  {
    name: 'latency_p99',
    direction: 'increase',
    threshold: 500,
    margin: 0.1,
    baseline: samples(3, 30, 230),
    canary: samples(4, 30, 232),
  },
];
const decisionBody = () => ({
  deployment: { service: 'checkout', version: 'v2.4.0', repo: 'acme/web', head_sha: 'abc123' },
  current_weight: 10,
  elapsed_s: 120,
  risk: 0.2,
  metrics: metricsSpec(),
  policy: { max_weight: 100, steps: [5, 10, 25, 50, 100], min_step: 5, max_step: 50, max_interval_s: 600 },
  prometheus: { window_s: 60, step_s: 1 },
});
const run = (id: number, extra: Record<string, unknown> = {}) => ({
  repo: 'acme/web',
  run_id: id,
  created_at: '2024-06-01T10:00:00Z',
  workflow: 'ci',
  run_attempt: 1,
  head_sha: 'abc123',
  head_branch: 'main',
  event: 'push',
  actor: 'dev1',
  run_started_at: '2024-06-01T10:00:05Z',
  completed_at: '2024-06-01T10:09:00Z',
  conclusion: 'failure',
  files_changed: 2,
  additions: 10,
  deletions: 3,
  files: ['src/a.ts', 'package-lock.json'],
  ...extra,
});

const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
const bySchema = (s: z.ZodType) => (b: unknown) => {
  const r = s.safeParse(b);
  assert.ok(
    r.success,
    `response does not match its schema: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}`,
  );
};
const hasKeys =
  (...keys: string[]) =>
  (b: unknown) => {
    assert.ok(isObj(b), 'a JSON object');
    for (const k of keys) assert.ok(k in b, `response has ${k}`);
  };
/** Flagger answers yes/no by status; a body with `allowed` is a decision, not an error. */
const flaggerDecision = (b: unknown) => isObj(b) && typeof b.allowed === 'boolean';

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  /** Path with `{p}` where the fuzzed path parameter goes. */
  path: string;
  param?: () => string;
  body?: () => unknown;
  query?: () => Record<string, string>;
  ok: (body: unknown) => void;
  decision?: (body: unknown) => boolean;
}

const ENDPOINTS = (): Endpoint[] => [
  {
    name: 'POST /v1/risk',
    method: 'POST',
    path: '/v1/risk',
    ok: bySchema(RiskResponseSchema),
    body: () => ({
      repo: 'acme/web',
      head_sha: 'abc123',
      head_branch: 'main',
      event: 'push',
      actor: 'dev1',
      workflow: 'ci',
      run_attempt: 1,
      created_at: '2024-06-01T10:00:00Z',
      files: ['package-lock.json', '.github/workflows/ci.yml', 'src/app.ts'],
      files_changed: 3,
      additions: 120,
      deletions: 30,
      service_health: { 'npm-registry': 0.6, cache: 1 },
    }),
  },
  {
    name: 'POST /v1/outcomes (one)',
    method: 'POST',
    path: '/v1/outcomes',
    ok: bySchema(OutcomeResponseSchema),
    body: () => run(900_001),
  },
  {
    name: 'POST /v1/outcomes (runs)',
    method: 'POST',
    path: '/v1/outcomes',
    ok: bySchema(OutcomeResponseSchema),
    body: () => ({ runs: [run(900_002), run(900_003, { repo: 'acme/api', conclusion: 'success', run_attempt: 2 })] }),
  },
  {
    name: 'GET /v1/circuits/{name}',
    method: 'GET',
    path: '/v1/circuits/{p}',
    param: () => 'npm',
    ok: bySchema(CircuitViewSchema),
  },
  {
    name: 'POST /v1/circuits/{name}',
    method: 'POST',
    path: '/v1/circuits/{p}',
    param: () => 'npm',
    body: () => ({ event: 'failure' }),
    ok: bySchema(CircuitViewSchema),
  },
  {
    name: 'POST /v1/canary/decision',
    method: 'POST',
    path: '/v1/canary/decision',
    body: decisionBody,
    ok: bySchema(CanaryDecisionResponse),
  },
  {
    name: 'POST /v1/canary/argo',
    method: 'POST',
    path: '/v1/canary/argo',
    body: decisionBody,
    ok: bySchema(ArgoResult),
  },
  {
    name: 'GET /v1/canary/argo',
    method: 'GET',
    path: '/v1/canary/argo',
    ok: bySchema(ArgoResult),
    query: () => ({
      service: 'checkout',
      version: 'v2.5.0',
      repo: 'acme/web',
      head_sha: 'abc123',
      weight: '10',
      elapsed_s: '120',
      risk: '0.2',
      window_s: '60',
      metrics: JSON.stringify(metricsSpec()),
    }),
  },
  {
    name: 'POST /v1/canary/flagger/{hook}',
    method: 'POST',
    path: '/v1/canary/flagger/{p}',
    param: () => 'confirm-traffic-increase',
    ok: hasKeys('allowed'),
    decision: flaggerDecision,
    body: () => ({
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      checksum: 'abc',
      type: 'confirm-rollout',
      metadata: {
        service: 'podinfo',
        version: 'v2',
        repo: 'acme/web',
        head_sha: 'abc123',
        risk: '0.1',
        window_s: '60',
        stepWeight: '10',
        maxWeight: '50',
        metrics: JSON.stringify(metricsSpec()),
      },
    }),
  },
  {
    name: 'POST /v1/canary/flagger/pre-rollout',
    method: 'POST',
    path: '/v1/canary/flagger/pre-rollout',
    ok: hasKeys('allowed', 'risk'),
    decision: flaggerDecision,
    body: () => ({
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      metadata: { service: 'podinfo', version: 'v3', risk: '0.1' },
    }),
  },
  {
    name: 'POST /judge',
    method: 'POST',
    path: '/judge',
    ok: bySchema(KayentaJudgeResponse),
    body: () => ({
      canaryConfig: {
        name: 'cfg',
        judge: { name: 'riskgate' },
        metrics: [
          {
            name: 'latency',
            groups: ['perf'],
            scopeName: 'default',
            query: { type: 'prometheus' },
            analysisConfigurations: {
              canary: {
                direction: 'increase',
                critical: false,
                nanStrategy: 'remove',
                effectSize: { allowedIncrease: 1.1, allowedDecrease: 0.9 },
              },
            },
          },
          {
            name: 'errors',
            groups: ['errors'],
            analysisConfigurations: { canary: { direction: 'either', critical: true, nanStrategy: 'replace' } },
          },
        ],
        classifier: { groupWeights: { perf: 60, errors: 40 } },
      },
      scoreThresholds: { pass: 75, marginal: 50 },
      metricSetPairList: [
        {
          name: 'latency',
          id: 'm1',
          tags: { region: 'eu' },
          values: { control: [...samples(5, 20, 200), 'NaN', null], experiment: samples(6, 20, 201) },
          attributes: { a: 1 },
          scopes: { s: {} },
        },
        { name: 'errors', id: 'm2', values: { control: samples(7, 20, 0.01), experiment: samples(8, 20, 0.011) } },
      ],
    }),
  },
  {
    name: 'POST /v1/canary/outcome',
    method: 'POST',
    path: '/v1/canary/outcome',
    ok: hasKeys(),
    body: () => ({
      service: 'checkout',
      version: 'v2.4.0',
      outcome: 'promoted',
      repo: 'acme/web',
      head_sha: 'abc123',
      detail: 'fine',
    }),
  },
  {
    name: 'GET /v1/canary/rollouts/{service}',
    method: 'GET',
    path: '/v1/canary/rollouts/{p}',
    param: () => 'checkout',
    query: () => ({ limit: '10' }),
    ok: hasKeys('decisions'),
  },
  {
    name: 'POST /v1/models/{id}/promote',
    method: 'POST',
    path: '/v1/models/{p}/promote',
    param: () => h.challengerId,
    body: () => ({ reason: 'fuzz: the challenger is better' }),
    ok: hasKeys('champion'),
  },
  {
    name: 'POST /v1/models/rollback',
    method: 'POST',
    path: '/v1/models/rollback',
    body: () => ({ reason: 'fuzz: roll back' }),
    ok: hasKeys('champion'),
  },
  {
    name: 'POST /v1/models/{id}/trial',
    method: 'POST',
    path: '/v1/models/{p}/trial',
    param: () => h.challengerId,
    body: () => ({ reason: 'fuzz trial', ab_share: 0.1 }),
    ok: hasKeys('trial'),
  },
  {
    name: 'POST /v1/models/trial/end',
    method: 'POST',
    path: '/v1/models/trial/end',
    body: () => ({ reason: 'fuzz end' }),
    ok: hasKeys('ended'),
  },
  {
    name: 'GET /v1/models/{id}',
    method: 'GET',
    path: '/v1/models/{p}',
    param: () => h.championId,
    ok: hasKeys('id', 'kind'),
  },
  {
    name: 'GET /v1/reports/dora',
    method: 'GET',
    path: '/v1/reports/dora',
    query: () => ({ repo: 'acme/web', weeks: '4', timezone: 'Europe/Berlin' }),
    ok: hasKeys('weeks', 'totals'),
  },
  {
    name: 'GET /v1/reports/flaky',
    method: 'GET',
    path: '/v1/reports/flaky',
    query: () => ({ repo: 'acme/api', limit: '50' }),
    ok: hasKeys('flaky', 'workflows'),
  },
  {
    name: 'GET /ui/api/overview',
    method: 'GET',
    path: '/ui/api/overview',
    query: () => ({ limit: '20' }),
    ok: hasKeys('runs', 'risk_checks'),
  },
  {
    name: 'GET /ui/api/canary',
    method: 'GET',
    path: '/ui/api/canary',
    query: () => ({ service: 'checkout', limit: '10' }),
    ok: hasKeys('services', 'decisions'),
  },
  {
    name: 'GET /ui/api/jobs',
    method: 'GET',
    path: '/ui/api/jobs',
    query: () => ({ limit: '10' }),
    ok: hasKeys('runs', 'summary'),
  },
  {
    name: 'GET /ui/api/reports',
    method: 'GET',
    path: '/ui/api/reports',
    query: () => ({ repo: 'acme/web', weeks: '4' }),
    ok: hasKeys('repos', 'dora'),
  },
  {
    name: 'GET /ui/api/risk/{id}',
    method: 'GET',
    path: '/ui/api/risk/{p}',
    param: () => riskId,
    ok: hasKeys('repo', 'factors'),
  },
  {
    name: 'GET /ui/api/model',
    method: 'GET',
    path: '/ui/api/model',
    query: () => ({}),
    ok: hasKeys('champion', 'models'),
  },
];

interface Req {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  label: string;
}

let requests = 0;
const statuses = new Map<number, number>();
async function exercise(ep: Endpoint, req: Req): Promise<void> {
  const before = h.snapshot();
  const r = await send(h.url, req.method, req.path, { body: req.body, headers: { ...AUTH, ...req.headers } });
  requests++;
  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const ctx = `${ep.name} [${req.label}] → ${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status < 500, `server error: ${ctx}`);
  if (r.status >= 400 && !(ep.decision?.(r.body) ?? false)) {
    assert.ok(REJECT.has(r.status), `unexpected status: ${ctx}`);
    assert.ok(isObj(r.body), `error body is a JSON object: ${ctx}`);
    assert.equal(typeof r.body.error, 'string', ctx);
    assert.equal(typeof r.body.message, 'string', ctx);
    assert.ok(r.body.message.length > 0, ctx);
    if (r.body.details !== undefined) {
      assert.ok(Array.isArray(r.body.details), ctx);
      for (const d of r.body.details)
        assert.ok(
          isObj(d) && typeof d.path === 'string' && typeof d.message === 'string',
          `detail {path, message}: ${ctx}`,
        );
    }
    const extra = Object.keys(r.body).filter((k) => !['error', 'message', 'details', 'request_id'].includes(k));
    assert.deepEqual(extra, [], `error body has only {error, message, details?, request_id}: ${ctx}`);
    assert.deepEqual(h.snapshot(), before, `a rejected request changed the store: ${ctx}`);
  } else {
    assert.ok((r.status >= 200 && r.status < 300) || ep.decision?.(r.body), `unexpected status: ${ctx}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/, ctx);
    try {
      ep.ok(r.body);
    } catch (e) {
      throw new Error(`${ctx}\n${(e as Error).message}`, { cause: e });
    }
  }
  assertNoPollution(ctx);
}

/** fast-check prints counterexamples with this: the label and the start of the body, not 200 kB of brackets. */
function printable(r: Req): Req {
  return Object.assign(r, {
    [fc.toStringMethod]: () => `${r.method} ${r.path.slice(0, 200)} [${r.label}] ${(r.body ?? '').slice(0, 300)}`,
  });
}

function requestArb(ep: Endpoint): fc.Arbitrary<Req> {
  const base = (p?: string) => ep.path.replace('{p}', p ?? ep.param?.() ?? '');
  const withQuery = (path: string, qs: string) => (qs ? `${path}?${qs}` : path);
  const validQs = () =>
    Object.entries(ep.query?.() ?? {})
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&');
  const arbs: fc.Arbitrary<Req>[] = [];
  if (ep.body) {
    arbs.push(
      mutation.map((m) => ({
        method: ep.method,
        path: withQuery(base(), validQs()),
        ...(() => {
          const x = applyMutation(ep.body!(), m);
          return { body: x.text, label: x.label };
        })(),
      })),
    );
    arbs.push(
      hostileBody.map((b) => ({
        method: ep.method,
        path: withQuery(base(), validQs()),
        body: b.text,
        headers: b.headers,
        label: b.label,
      })),
    );
  }
  if (ep.query)
    arbs.push(
      queryMutation.map((m) => {
        const x = applyQueryMutation(ep.query!(), m);
        return {
          method: ep.method,
          path: withQuery(base(), x.qs),
          body: ep.body ? JSON.stringify(ep.body()) : undefined,
          label: `query ${x.label}`,
        };
      }),
    );
  if (ep.param)
    arbs.push(
      evilParam.map((x) => ({
        method: ep.method,
        path: withQuery(base(x.p), validQs()),
        body: ep.body ? JSON.stringify(ep.body()) : undefined,
        label: `param ${x.label}`,
      })),
    );
  return fc.oneof(...arbs).map(printable);
}

before(async () => {
  h = await startHarness({
    env: {
      RISKGATE_API_KEYS: `fuzz:score+report+admin:${KEY}`,
      RISKGATE_RATE_LIMIT: '6000000',
      RISKGATE_RATE_BURST: '1000000',
    },
  });
  const ev = h.store.listEvents('risk', { limit: 1 })[0];
  riskId = riskEventId(ev);
  protoBaseline = protoState();
});
after(async () => {
  await h?.close();
});

test('the valid request of every endpoint is accepted with a well-formed answer (so the mutations start from valid input)', async () => {
  for (const ep of ENDPOINTS()) {
    const path = ep.path.replace('{p}', ep.param?.() ?? '');
    const qs = Object.entries(ep.query?.() ?? {})
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&');
    const r = await send(h.url, ep.method, qs ? `${path}?${qs}` : path, {
      body: ep.body ? JSON.stringify(ep.body()) : undefined,
      headers: AUTH,
    });
    assert.ok(
      (r.status >= 200 && r.status < 300) || (ep.decision?.(r.body) ?? false),
      `${ep.name}: ${r.status} ${r.text.slice(0, 300)}`,
    );
    ep.ok(r.body);
  }
  // Undo the state changes the valid model requests made, so the fuzz below starts from the seeded champion.
  const promoted = await send(h.url, 'POST', `/v1/models/${h.championId}/promote`, {
    body: JSON.stringify({ reason: 'reset' }),
    headers: AUTH,
  });
  assert.ok([200, 409].includes(promoted.status), promoted.text);
});

/**
 * Cases always run besides the random ones: into every object of the valid body, an own `__proto__` key
 * and a 10k-deep value (both reach fields kept as unknown or passed through, e.g. Kayenta's `judge`, `query`).
 */
function examples(ep: Endpoint): Req[] {
  if (!ep.body) return [];
  const valid = ep.body();
  const objects = allPaths(valid).filter((p) => isObj(p.reduce<any>((o, k) => o[k], valid)));
  const path = ep.path.replace('{p}', ep.param?.() ?? '');
  const out: Req[] = [];
  for (const raw of [deepArrays(10_000), deepObjects(10_000), PROTO_RAW[0], PROTO_RAW[1]]) {
    objects.forEach((_, pathIndex) => {
      const objIndex = allPaths(valid).findIndex((p) => p.join('\u0000') === objects[pathIndex].join('\u0000'));
      for (const key of ['__proto__', 'judge']) {
        const x = applyMutation(valid, {
          pathIndex: objIndex,
          op: 'addKey',
          key,
          evil: { raw, label: `raw ${raw.slice(0, 20)}` },
        });
        out.push({ method: ep.method, path, body: x.text, label: `example ${x.label}` });
      }
    });
  }
  return out;
}

for (const ep of ENDPOINTS()) {
  test(`fuzz ${ep.name}`, async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(ep), (req) => exercise(ep, req)),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, examples: examples(ep).map((r) => [printable(r)]) },
    );
  });
}

test('after the fuzz: the server still answers, and nothing leaked onto the prototypes', async () => {
  assert.equal((await send(h.url, 'GET', '/live')).status, 200);
  const risk = await send(h.url, 'POST', '/v1/risk', { body: '{"repo":"acme/web"}', headers: AUTH });
  assert.equal(risk.status, 200, risk.text);
  assertNoPollution('the whole fuzz run');
  assert.ok(requests >= ENDPOINTS().length * RUNS, `ran ${requests} requests`);
  // The fuzz must actually reach both sides: rejections and (mutations that stayed valid) acceptances.
  assert.ok((statuses.get(400) ?? 0) > requests / 4, `statuses ${JSON.stringify([...statuses])}`);
  assert.ok((statuses.get(200) ?? 0) > 20, `statuses ${JSON.stringify([...statuses])}`);
});
