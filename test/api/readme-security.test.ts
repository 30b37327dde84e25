/**
 * README's "Security" section states limits as numbers; each one is checked against what the code does, so
 * the section cannot drift from it (issue 16: "README's security section states the limits").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.ts';
import { CircuitListQuerySchema } from '../../src/policy/circuit-schemas.ts';
import { OutcomeRequestSchema, RiskRequestSchema } from '../../src/serving/schemas.ts';
import { FailedAuthLimiter } from '../../src/api/auth.ts';
import { MAX_METRICS_PER_REQUEST, MAX_SAMPLES_PER_REQUEST, MAX_SAMPLES_PER_SIDE } from '../../src/canary/limits.ts';
import { MAX_ANSWER_BYTES, MAX_QUERY_POINTS } from '../../src/canary/prometheus.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(
  readme.indexOf('\n## Security\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Security\n') + 5),
);

const has = (text: RegExp, what: string) => assert.match(section, text, what);

test('the README security section states the limits the code enforces', () => {
  assert.ok(section.length > 200, 'README has a Security section');
  const c = loadConfig({});
  has(
    new RegExp(`send ${c.authFailures.burst} wrong keys\\s+at once and ${c.authFailures.perMinute} per minute`),
    'failed-auth burst and rate',
  );
  has(new RegExp(`At most ${(10_000).toLocaleString('en')} addresses are tracked`), 'failed-auth memory bound');
  assert.equal(new FailedAuthLimiter({ perMinute: 1, burst: 1 })['max'], 10_000);
  has(new RegExp(`at most ${c.bodyLimitBytes / 1048576} MB, nested at most 64 levels`), 'body limits');
  has(new RegExp(`${c.rateLimit.perMinute} per\\s+minute, burst ${c.rateLimit.burst}`), 'request rate');
  has(
    new RegExp(
      `headers within ${c.connections.headersTimeoutMs / 1000} s and the whole request within\\s+${c.connections.requestTimeoutMs / 1000} s`,
    ),
    'timeouts',
  );
  has(new RegExp(`after ${c.connections.keepAliveTimeoutMs / 1000} s`), 'keep-alive');
  has(new RegExp(`Past ${c.connections.maxConnections.toLocaleString('en')} open\\s+connections`), 'connection cap');
  has(
    new RegExp(`kept ${c.retention.eventDays} days and a rollout's state ${c.retention.rolloutDays} days`),
    'retention',
  );
  has(new RegExp(`Past ${c.walLimitBytes / 1048576} MB the write-ahead log`), 'WAL limit');
  // The list bounds, from the schemas that enforce them.
  const runs = Array.from({ length: 1001 }, () => ({
    repo: 'a/b',
    run_id: 1,
    created_at: '2026-01-01T00:00:00Z',
    conclusion: 'success',
  }));
  assert.equal(OutcomeRequestSchema.safeParse({ runs }).success, false);
  has(/1,000 runs per `\/v1\/outcomes` post/, 'runs per post');
  assert.equal(RiskRequestSchema.safeParse({ repo: 'a/b', files: Array(10_001).fill('x') }).success, false);
  assert.equal(RiskRequestSchema.safeParse({ repo: 'a/b', files: Array(10_000).fill('x') }).success, true);
  has(/10,000\s+changed files per risk check/, 'files per check');
  assert.equal(CircuitListQuerySchema.safeParse({ limit: '1001' }).success, false);
  assert.equal(CircuitListQuerySchema.parse({}).limit, 100);
  has(/pages of at most 1,000 \(default 100\)/, 'circuit pages');
  // Canary caps, from the constants the schemas and the Prometheus client use.
  has(
    new RegExp(
      `at most ${MAX_METRICS_PER_REQUEST}\\s+metrics, ${MAX_SAMPLES_PER_SIDE.toLocaleString('en')} samples a side per metric and ${MAX_SAMPLES_PER_REQUEST.toLocaleString('en')} samples in all`,
    ),
    'canary caps',
  );
  has(
    new RegExp(`At most ${c.prometheusQueries.maxQueryMetrics} metrics of a request query Prometheus`),
    'query metrics',
  );
  has(new RegExp(`window of at most ${c.prometheusQueries.maxWindowS} s`), 'query window');
  has(
    new RegExp(`${MAX_ANSWER_BYTES / 1048576} MiB or ${MAX_QUERY_POINTS.toLocaleString('en')} points`),
    'answer bound',
  );
});
