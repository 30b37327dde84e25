import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDora, computeDoraByRepo, finalAttempts, median } from '../../src/report/dora.ts';
import { month, run } from './fixtures.ts';

const close = (a: number | null, b: number, msg?: string) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} != ${b}`);

test('weekly DORA figures of a hand-built month', () => {
  const d = computeDora(month());
  assert.equal(d.repo, 'acme/app');
  assert.equal(d.default_branch, 'main');
  assert.equal(d.deploy_source, 'default_branch_pushes');
  assert.deepEqual(
    d.weeks.map((w) => w.week_start),
    ['2024-05-06', '2024-05-13', '2024-05-20', '2024-05-27'],
  );
  const [w1, w2, w3, w4] = d.weeks;
  assert.equal(w1.deployments, 3);
  close(w1.deployment_frequency_per_day, 3 / 7);
  close(w1.lead_time_hours_p50, 0.5, 'median of 2.5 h, 20 min, 30 min');
  assert.equal(w1.changes, 4);
  assert.equal(w1.failed_changes, 1);
  close(w1.change_failure_rate, 1 / 4);
  close(w1.time_to_restore_hours_p50, 2);
  assert.equal(w1.runs, 8, 'final attempts: the flaky run counts once, cancelled runs count');
  assert.equal(w1.failures, 2, 'the failed push and the nightly; the flaky run ended green');

  assert.equal(w2.deployments, 1);
  close(w2.lead_time_hours_p50, 10 / 60);
  close(w2.change_failure_rate, 2 / 3);
  close(w2.time_to_restore_hours_p50, 24, 'restore runs from the first failure to the next success');
  assert.equal(w2.restores, 1);

  assert.deepEqual(
    { ...w3, deployment_frequency_per_day: w3.deployment_frequency_per_day },
    {
      week_start: '2024-05-20',
      deployments: 0,
      deployment_frequency_per_day: 0,
      lead_time_hours_p50: null,
      change_failure_rate: null,
      time_to_restore_hours_p50: null,
      runs: 0,
      failures: 0,
      changes: 0,
      failed_changes: 0,
      restores: 0,
    },
  );
  close(w4.change_failure_rate, 1);
  assert.equal(w4.time_to_restore_hours_p50, null, 'still broken: no restore yet');

  const t = d.totals;
  assert.equal(t.weeks, 4);
  assert.equal(t.from, '2024-05-06');
  assert.equal(t.to, '2024-06-03');
  assert.equal(t.deployments, 4);
  close(t.deployment_frequency_per_day, 4 / 28);
  close(t.change_failure_rate, 4 / 8);
  close(t.time_to_restore_hours_p50, 13);
  close(t.lead_time_hours_p50, (20 / 60 + 0.5) / 2, 'median of 2.5 h, 20 min, 30 min, 10 min');
  assert.deepEqual(t.open_incidents, [{ workflow: 'ci', since: '2024-05-27T09:15:00.000Z' }]);
});

test('--weeks keeps the last N weeks and totals only those', () => {
  const d = computeDora(month(), { weeks: 2 });
  assert.deepEqual(
    d.weeks.map((w) => w.week_start),
    ['2024-05-20', '2024-05-27'],
  );
  assert.equal(d.totals.deployments, 0);
  assert.equal(d.totals.changes, 1);
  close(d.totals.change_failure_rate, 1);
  assert.equal(d.totals.deployment_frequency_per_day, 0);
  // Asking for more weeks than the history has does not invent empty weeks before the first run.
  assert.equal(computeDora(month(), { weeks: 52 }).weeks.length, 4);
  assert.throws(() => computeDora(month(), { weeks: 0 }), /weeks/);
});

test('week boundaries follow the configured time zone', () => {
  // Sunday 23:30 UTC is already Monday 01:30 in Berlin.
  const runs = [run('2024-05-12T23:30', '2024-05-12T23:40', 'success')];
  assert.equal(computeDora(runs).weeks[0].week_start, '2024-05-06');
  assert.equal(computeDora(runs, { timezone: 'Europe/Berlin' }).weeks[0].week_start, '2024-05-13');
  assert.equal(computeDora(runs, { timezone: 'America/New_York' }).weeks[0].week_start, '2024-05-06');
  assert.throws(() => computeDora(runs, { timezone: 'Nowhere/Land' }), /timezone/);
});

test('deploy workflows, when present, define deployments instead of default-branch pushes', () => {
  const runs = [
    ...month(),
    run('2024-05-06T11:00', '2024-05-06T11:30', 'success', { workflow: 'Deploy production', head_sha: 'A' }),
    run('2024-05-07T12:00', '2024-05-07T12:05', 'failure', { workflow: 'Deploy production', head_sha: 'C' }),
    run('2024-05-07T13:00', '2024-05-07T13:30', 'success', { workflow: 'Deploy production', head_sha: 'C' }),
  ];
  const d = computeDora(runs);
  assert.equal(d.deploy_source, 'workflows');
  assert.equal(d.totals.deployments, 2);
  close(d.totals.change_failure_rate, 1 / 3);
  close(d.totals.time_to_restore_hours_p50, 85 / 60, 'failed deploy 12:05, next deploy success 13:30');
  close(d.weeks[0].lead_time_hours_p50, (3.5 + 2.5) / 2, 'from the first run of each sha (PR at 08:00, push at 11:00)');
  // An explicit pattern that matches nothing falls back to pushes.
  assert.equal(computeDora(runs, { deployWorkflows: /^ship$/ }).deploy_source, 'default_branch_pushes');
});

test('one commit shipped by two pipeline workflows is one deployment; default branch is detected', () => {
  const runs = [
    run('2024-05-06T10:00', '2024-05-06T10:10', 'success', { head_sha: 'X', head_branch: 'master' }),
    run('2024-05-06T10:00', '2024-05-06T10:20', 'success', { head_sha: 'X', head_branch: 'master', workflow: 'lint' }),
    run('2024-05-06T12:00', '2024-05-06T12:20', 'success', { head_sha: 'Y', head_branch: 'feature', event: 'push' }),
  ];
  const d = computeDora(runs);
  assert.equal(d.default_branch, 'master');
  assert.equal(d.totals.deployments, 1);
  assert.equal(d.totals.changes, 2);
  assert.equal(computeDora(runs, { defaultBranch: 'feature' }).totals.deployments, 1);
});

test('mixed repos are rejected by computeDora and split by computeDoraByRepo; empty input is an empty report', () => {
  const runs = [...month(), run('2024-05-06T10:00', '2024-05-06T10:10', 'success', { repo: 'acme/other' })];
  assert.throws(() => computeDora(runs), /one repo/);
  const by = computeDoraByRepo(runs);
  assert.deepEqual(
    by.map((d) => d.repo),
    ['acme/app', 'acme/other'],
  );
  assert.equal(by[1].totals.deployments, 1);
  const empty = computeDora([]);
  assert.equal(empty.repo, null);
  assert.deepEqual(empty.weeks, []);
  assert.equal(empty.totals.change_failure_rate, null);
});

test('helpers: median and final attempts', () => {
  assert.equal(median([]), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const finals = finalAttempts(month());
  assert.equal(finals.length, 12);
  assert.equal(finals.find((r) => r.run_id === '77')!.run_attempt, 2);
});

test('the order of input runs does not matter', () => {
  const runs = month();
  const shuffled = [...runs].reverse();
  assert.deepEqual(computeDora(shuffled), computeDora(runs));
});
