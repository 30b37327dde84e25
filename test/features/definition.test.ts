import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/features/frame.ts';
import { FEATURE_INDEX as F } from '../../src/features/definition.ts';
import { classifyFiles } from '../../src/features/files.ts';
import { RunRecordSchema, type RunRecordInput } from '../../src/records/schema.ts';

const run = (o: Partial<RunRecordInput> & { run_id: number; created_at: string }) =>
  RunRecordSchema.parse({ repo: 'acme/web', conclusion: 'success', ...o });

const row = (frame: ReturnType<typeof buildFrame>, i: number) => (name: keyof typeof F) =>
  frame.X[i * frame.d + F[name]];

test('an outcome that completes after a run was created is not part of its history (leakage rule)', () => {
  const frame = buildFrame([
    run({ run_id: 1, created_at: '2024-03-04T10:00:00Z', completed_at: '2024-03-04T12:00:00Z', conclusion: 'failure' }),
    run({ run_id: 2, created_at: '2024-03-04T11:00:00Z', completed_at: '2024-03-04T11:10:00Z' }),
    run({ run_id: 3, created_at: '2024-03-04T13:00:00Z', completed_at: '2024-03-04T13:10:00Z' }),
  ]);
  assert.ok(Number.isNaN(row(frame, 1)('last_outcome')), 'run 1 was still running when run 2 was created');
  assert.equal(row(frame, 1)('runs_24h'), 1, 'but its creation is known');
  // By run 3 both are known; in known order run 2 (11:10) came before run 1 (12:00), so the last known is the failure.
  assert.equal(row(frame, 2)('last_outcome'), 1);
  assert.equal(row(frame, 2)('consecutive_failures'), 1);
  assert.equal(row(frame, 2)('fail_rate_5'), 0.5);
});

test('without completed_at, an earlier run counts only for runs created strictly later', () => {
  const frame = buildFrame([
    run({ run_id: 1, created_at: '2024-03-04T10:00:00Z', conclusion: 'failure' }),
    run({ run_id: 2, created_at: '2024-03-04T10:00:00Z' }),
    run({ run_id: 3, created_at: '2024-03-04T10:00:01Z' }),
  ]);
  assert.ok(Number.isNaN(row(frame, 1)('last_outcome')));
  assert.equal(row(frame, 2)('last_outcome'), 0);
  assert.equal(row(frame, 2)('fail_rate_20'), 0.5);
});

test('missing values stay missing, never zero', () => {
  const frame = buildFrame([run({ run_id: 1, created_at: '2024-03-04T10:00:00Z' })]);
  const r = row(frame, 0);
  for (const name of [
    'files_changed',
    'additions',
    'churn',
    'touches_deps',
    'last_outcome',
    'fail_rate_5',
    'author_fail_rate',
    'is_push',
    'is_default_branch',
  ] as const) {
    assert.ok(Number.isNaN(r(name)), `${name} should be NaN`);
  }
  assert.equal(r('run_attempt'), 1);
});

test('time features use the configured zone', () => {
  // Friday 2024-03-08 13:30 UTC is 14:30 in Berlin and 08:30 in New York.
  const rec = run({ run_id: 1, created_at: '2024-03-08T13:30:00Z' });
  const berlin = row(buildFrame([rec], { timezone: 'Europe/Berlin' }), 0);
  const ny = row(buildFrame([rec], { timezone: 'America/New_York' }), 0);
  assert.equal(berlin('hour'), 14);
  assert.equal(berlin('weekday'), 5);
  assert.equal(berlin('is_friday_afternoon'), 1);
  assert.equal(ny('hour'), 8);
  assert.equal(ny('is_friday_afternoon'), 0);
  assert.equal(ny('off_hours'), 0);
});

test('author, branch and event scopes are kept apart', () => {
  const frame = buildFrame([
    run({
      run_id: 1,
      created_at: '2024-03-04T10:00:00Z',
      actor: 'ann',
      head_branch: 'main',
      event: 'push',
      conclusion: 'failure',
    }),
    run({ run_id: 2, created_at: '2024-03-04T11:00:00Z', actor: 'bob', head_branch: 'feat', event: 'pull_request' }),
    run({ run_id: 3, created_at: '2024-03-04T12:00:00Z', actor: 'ann', head_branch: 'main', event: 'push' }),
  ]);
  const r = row(frame, 2);
  assert.equal(r('author_fail_rate'), 1);
  assert.equal(r('author_runs'), 1);
  assert.equal(r('wb_last_outcome'), 1);
  assert.equal(r('event_last_outcome'), 1);
  assert.equal(r('last_outcome'), 0);
  assert.equal(r('is_default_branch'), 1);
});

test('file classes: dependency manifests, CI config, tests and docs', () => {
  const mix = classifyFiles([
    'package-lock.json',
    '.github/workflows/ci.yml',
    'src/app.test.ts',
    'docs/intro.md',
    'src/app.ts',
  ]);
  assert.equal(mix.touchesDeps, 1);
  assert.equal(mix.touchesCi, 1);
  assert.equal(mix.shareTest, 0.2);
  assert.equal(mix.shareDocs, 0.2);
  assert.equal(mix.shareSource, 0.2);
  assert.equal(classifyFiles(['src/a.go', 'internal/b_test.go']).touchesDeps, 0);
  assert.equal(classifyFiles(['requirements-dev.txt']).touchesDeps, 1);
});
