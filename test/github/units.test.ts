import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRateLimit, parseLink } from '../../src/github/ratelimit.ts';
import { CircuitBreaker } from '../../src/github/circuit.ts';
import { failedJobsByAttempt, mapRun, mergeCommitPages, type GhRun } from '../../src/github/map.ts';
import { createdFilter, relativeUrl } from '../../src/github/ingest.ts';
import { createdPredicate } from './replay-server.ts';

const run = (over: Partial<GhRun> = {}): GhRun => ({
  id: 42,
  name: 'CI',
  path: '.github/workflows/ci.yml',
  head_sha: 'a'.repeat(40),
  head_branch: 'main',
  event: 'push',
  status: 'completed',
  conclusion: 'success',
  created_at: '2024-03-01T10:00:00Z',
  updated_at: '2024-03-01T10:05:00Z',
  run_started_at: '2024-03-01T10:00:05Z',
  run_attempt: 1,
  actor: { login: 'alice' },
  ...over,
});

test('mapRun maps a run and its commit to the canonical record', () => {
  const m = mapRun('o/r', run(), { sha: 'a'.repeat(40), additions: 10, deletions: 3, files: ['a.ts', 'b.ts'] });
  assert.ok(m.ok);
  assert.deepEqual(m.record, {
    repo: 'o/r',
    run_id: '42',
    created_at: '2024-03-01T10:00:00.000Z',
    workflow: 'CI',
    run_attempt: 1,
    head_sha: 'a'.repeat(40),
    head_branch: 'main',
    event: 'push',
    actor: 'alice',
    run_started_at: '2024-03-01T10:00:05.000Z',
    completed_at: '2024-03-01T10:05:00.000Z',
    conclusion: 'success',
    files_changed: 2,
    additions: 10,
    deletions: 3,
    files: ['a.ts', 'b.ts'],
  });
});

test('mapRun: missing run_attempt is 1, startup_failure kept, path used when name is empty, triggering actor fallback', () => {
  const m = mapRun(
    'o/r',
    run({
      run_attempt: undefined,
      conclusion: 'startup_failure',
      name: '',
      actor: null,
      triggering_actor: { login: 'bot' },
    }),
    null,
  );
  assert.ok(m.ok);
  assert.equal(m.record.run_attempt, 1);
  assert.equal(m.record.conclusion, 'startup_failure');
  assert.equal(m.record.workflow, '.github/workflows/ci.yml');
  assert.equal(m.record.actor, 'bot');
  assert.equal(m.record.files, null);
});

test('mapRun: an in-progress run has no conclusion and no completion time', () => {
  const m = mapRun('o/r', run({ status: 'in_progress', conclusion: null }), null);
  assert.ok(m.ok);
  assert.equal(m.record.conclusion, null);
  assert.equal(m.record.completed_at, null);
});

test('mapRun rejects a bad payload with a field path instead of throwing', () => {
  const m = mapRun('o/r', run({ created_at: 'not a date' }), null);
  assert.equal(m.ok, false);
  assert.match((m as { error: string }).error, /created_at/);
});

test('mergeCommitPages merges files across pages and keeps whole-commit stats', () => {
  const c = mergeCommitPages([
    { sha: 's', stats: { additions: 5, deletions: 1 }, files: [{ filename: 'a' }, { filename: 'b' }] },
    { sha: 's', stats: { additions: 5, deletions: 1 }, files: [{ filename: 'c' }, { filename: 'b' }] },
  ]);
  assert.deepEqual(c, { sha: 's', additions: 5, deletions: 1, files: ['a', 'b', 'c'] });
});

test('failedJobsByAttempt groups failed jobs per attempt; jobs without run_attempt count as attempt 1', () => {
  const m = failedJobsByAttempt([
    { name: 'build', conclusion: 'success', run_attempt: 1 },
    { name: 'test', conclusion: 'failure', run_attempt: 1 },
    { name: 'test', conclusion: 'timed_out', run_attempt: 2 },
    { name: 'lint', conclusion: 'failure' },
  ]);
  assert.deepEqual(m.get(1), ['test', 'lint']);
  assert.deepEqual(m.get(2), ['test']);
});

test('classifyRateLimit: primary with reset, primary without reset, secondary (new and old wording), plain 403', () => {
  const now = 1_700_000_000_000;
  assert.deepEqual(
    classifyRateLimit(
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000100' },
      'API rate limit exceeded',
      { now },
    ),
    {
      kind: 'primary',
      resumeAt: 1_700_000_100_000,
      source: 'x-ratelimit-reset',
    },
  );
  assert.equal(
    classifyRateLimit(403, { 'x-ratelimit-remaining': '0' }, 'x', { now, primaryFallbackSec: 60 })?.resumeAt,
    now + 60_000,
  );
  assert.deepEqual(
    classifyRateLimit(403, { 'retry-after': '30' }, 'You have exceeded a secondary rate limit', { now }),
    {
      kind: 'secondary',
      resumeAt: now + 30_000,
      source: 'retry-after',
    },
  );
  const abuse = classifyRateLimit(403, {}, 'You have triggered an abuse detection mechanism.', { now });
  assert.equal(abuse?.kind, 'secondary');
  assert.equal(abuse?.resumeAt, now + 60_000, 'no retry-after: wait at least a minute');
  assert.equal(
    classifyRateLimit(403, {}, 'abuse detection', { now, secondaryStreak: 2 })?.resumeAt,
    now + 240_000,
    'backs off',
  );
  assert.equal(classifyRateLimit(429, {}, 'Too many requests', { now })?.kind, 'secondary');
  assert.equal(
    classifyRateLimit(403, { 'x-ratelimit-remaining': '4000' }, 'Resource not accessible by integration', { now }),
    null,
  );
  assert.equal(classifyRateLimit(500, { 'x-ratelimit-remaining': '0' }, 'x', { now }), null);
});

test('parseLink reads next/last including /repositories/{id} forms', () => {
  const l = parseLink(
    '<https://api.github.com/repositories/1/actions/runs?page=2>; rel="next", <https://api.github.com/repositories/1/actions/runs?page=9>; rel="last"',
  );
  assert.equal(l.next, 'https://api.github.com/repositories/1/actions/runs?page=2');
  assert.equal(l.last, 'https://api.github.com/repositories/1/actions/runs?page=9');
  assert.deepEqual(parseLink(undefined), {});
});

test('created= windows are inclusive second ranges and the replay server reads them the same way', () => {
  const w = { from: Date.parse('2024-01-01T00:00:00Z') / 1000, to: Date.parse('2024-01-02T00:00:00Z') / 1000 };
  assert.equal(createdFilter(w), '2024-01-01T00:00:00Z..2024-01-01T23:59:59Z');
  assert.equal(createdFilter({ from: w.from, to: null }), '>=2024-01-01T00:00:00Z');
  const p = createdPredicate(createdFilter(w));
  assert.equal(p(Date.parse('2024-01-01T23:59:59Z')), true);
  assert.equal(p(Date.parse('2024-01-02T00:00:00Z')), false);
  assert.equal(
    relativeUrl('https://ghe.example.com/api/v3/repositories/1/actions/runs?page=2'),
    '/repositories/1/actions/runs?page=2',
  );
});

test('circuit breaker opens after repeated failures, refuses during cooldown, probes once, closes on success', () => {
  let t = 0;
  const rows: unknown[] = [];
  const cb = new CircuitBreaker({
    failureThreshold: 3,
    cooldownMs: 1000,
    now: () => t,
    store: { getCircuit: () => undefined, putCircuit: (r) => rows.push(r) },
  });
  assert.equal(cb.health().healthy, true);
  cb.failure();
  cb.failure();
  assert.equal(cb.health().state, 'closed');
  assert.ok(cb.health().score0to1 < 1);
  cb.failure();
  assert.equal(cb.health().state, 'open');
  assert.equal(cb.health().healthy, false);
  assert.equal(cb.health().score0to1, 0);
  assert.equal(cb.allow(), false);
  t = 1000;
  assert.equal(cb.allow(), true, 'one probe after the cooldown');
  assert.equal(cb.health().state, 'half_open');
  assert.equal(cb.allow(), false, 'only one probe at a time');
  cb.failure();
  assert.equal(cb.health().state, 'open', 'a failed probe re-opens');
  t = 2000;
  assert.equal(cb.allow(), true);
  cb.success();
  assert.deepEqual(cb.health(), {
    name: 'github',
    healthy: true,
    state: 'closed',
    score0to1: 1,
    consecutive_failures: 0,
    retry_at: null,
  });
  assert.ok(rows.length >= 4, 'state is written through for /health');
});

test('riskgate ingest: bad arguments exit 2 with a message naming the option', async () => {
  const { run } = await import('../../src/commands/ingest.ts');
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => void errors.push(String(m));
  try {
    assert.equal(await run([]), 2);
    assert.equal(await run(['--repo', 'not-a-repo']), 2);
    assert.equal(await run(['--repo', 'o/r', '--since', 'last tuesday']), 2);
    assert.equal(await run(['--repo', 'o/r', '--base-url', 'ftp://x']), 2);
    // Unknown flags are the CLI's one parseArgs helper's (src/commands/args.ts): main prints them.
    assert.equal(await (await import('../../src/cli.ts')).main(['ingest', '--repo', 'o/r', '--bogus']), 2);
  } finally {
    console.error = orig;
  }
  assert.match(errors[0], /--repo must be OWNER\/NAME/);
  assert.match(errors[2], /--since must be an ISO 8601/);
  assert.match(errors[3], /--base-url must be an http\(s\) URL/);
  assert.match(errors[4], /Unknown option '--bogus'/);
});
