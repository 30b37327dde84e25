import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFlaky } from '../../src/report/flaky.ts';
import { simulateHistory } from '../../src/simulate/history.ts';
import { month, run } from './fixtures.ts';

test('a failed attempt followed by a passing re-run of the same commit is flaky', () => {
  const r = detectFlaky(month());
  assert.deepEqual(r.flaky, [
    {
      repo: 'acme/app',
      workflow: 'ci',
      run_id: '77',
      head_sha: 'E',
      head_branch: 'feat/y',
      created_at: '2024-05-09T14:00:00.000Z',
      failed_attempt: 1,
      passed_attempt: 2,
    },
  ]);
  // ci: 10 finished runs (the cancelled one has no outcome), 1 re-run, 1 flaky; nightly: 1 run.
  assert.deepEqual(r.workflows, [
    { repo: 'acme/app', workflow: 'ci', runs: 10, rerun_runs: 1, flaky_runs: 1, flaky_rate: 0.1 },
    { repo: 'acme/app', workflow: 'nightly', runs: 1, rerun_runs: 0, flaky_runs: 0, flaky_rate: 0 },
  ]);
});

test('attempt order, repeated failures, cancelled re-runs and changed commits', () => {
  const at = '2024-05-06T10:00';
  const runs = [
    // Passes only on the third attempt: the last failure before the pass is reported.
    run(at, '2024-05-06T11:20', 'success', { run_id: 1, run_attempt: 3, head_sha: 'a' }),
    run(at, '2024-05-06T10:10', 'failure', { run_id: 1, run_attempt: 1, head_sha: 'a' }),
    run(at, '2024-05-06T10:50', 'timed_out', { run_id: 1, run_attempt: 2, head_sha: 'a' }),
    // A cancelled re-run is no evidence either way.
    run(at, '2024-05-06T10:10', 'failure', { run_id: 2, head_sha: 'b' }),
    run(at, '2024-05-06T10:30', 'cancelled', { run_id: 2, run_attempt: 2, head_sha: 'b' }),
    // Different commit on the passing attempt: not flaky.
    run(at, '2024-05-06T10:10', 'failure', { run_id: 3, head_sha: 'c' }),
    run(at, '2024-05-06T10:30', 'success', { run_id: 3, run_attempt: 2, head_sha: 'c2' }),
    // Passed, then failed on a re-run: the pass came first, so it is not a fail-then-pass.
    run(at, '2024-05-06T10:10', 'success', { run_id: 4, head_sha: 'd' }),
    run(at, '2024-05-06T10:30', 'failure', { run_id: 4, run_attempt: 2, head_sha: 'd' }),
    // Same run id in another workflow is another run.
    run(at, '2024-05-06T10:10', 'success', { run_id: 1, workflow: 'lint', head_sha: 'a' }),
  ];
  const r = detectFlaky(runs);
  assert.deepEqual(
    r.flaky.map((f) => [f.run_id, f.failed_attempt, f.passed_attempt]),
    [['1', 2, 3]],
  );
  assert.deepEqual(
    r.workflows.map((w) => [w.workflow, w.runs, w.rerun_runs, w.flaky_runs]),
    [
      ['ci', 4, 4, 1],
      ['lint', 1, 0, 0],
    ],
  );
  assert.deepEqual(detectFlaky([]), { flaky: [], workflows: [] });
});

test('on simulated history every flaky run really is a fail-then-pass on one sha', () => {
  const runs = simulateHistory({ seed: 3, repos: 2, runsPerRepo: 600 });
  const r = detectFlaky(runs);
  assert.ok(r.flaky.length > 0);
  const key = (x: { repo: string; workflow: string; run_id: string }) => `${x.repo} ${x.workflow} ${x.run_id}`;
  for (const f of r.flaky) {
    const attempts = runs.filter((x) => key(x) === key(f));
    assert.equal(attempts.find((x) => x.run_attempt === f.failed_attempt)!.conclusion === 'success', false);
    assert.equal(attempts.find((x) => x.run_attempt === f.passed_attempt)!.conclusion, 'success');
    assert.ok(attempts.every((x) => x.head_sha === f.head_sha));
  }
  const total = r.workflows.reduce((s, w) => s + w.flaky_runs, 0);
  assert.equal(total, r.flaky.length);
});
