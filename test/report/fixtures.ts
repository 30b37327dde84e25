import { RunRecordSchema, type RunRecord, type RunRecordInput } from '../../src/records/schema.ts';

let nextId = 1000;
const DEFAULTS = { repo: 'acme/app', workflow: 'ci', event: 'push', head_branch: 'main', actor: 'dev' };

/** One run attempt; `at` and `done` are "YYYY-MM-DDTHH:MM" in UTC. */
export function run(
  at: string,
  done: string | null,
  conclusion: string | null,
  extra: Partial<RunRecordInput> = {},
): RunRecord {
  return RunRecordSchema.parse({
    ...DEFAULTS,
    run_id: extra.run_id ?? nextId++,
    head_sha: extra.head_sha ?? `sha${nextId}`,
    created_at: `${at}:00Z`,
    run_started_at: `${at}:00Z`,
    completed_at: done === null ? null : `${done}:00Z`,
    conclusion,
    ...extra,
  });
}

/**
 * A hand-built month of one repo (weeks start Monday 2024-05-06, 05-13, 05-20, 05-27):
 * week 1: 3 deployments (lead times 2.5 h, 20 min, 30 min), change failure rate 1/4, one restore of 2 h,
 *         a failed nightly (not a change), a flaky PR run (fails, passes on attempt 2), a cancelled push;
 * week 2: fail, timed out, success a day later: CFR 2/3, one restore of 24 h, 1 deployment (10 min);
 * week 3: nothing; week 4: a failure still unresolved at the end.
 */
export function month(): RunRecord[] {
  return [
    run('2024-05-06T08:00', '2024-05-06T08:10', 'success', {
      head_sha: 'A',
      event: 'pull_request',
      head_branch: 'feat/x',
    }),
    run('2024-05-06T10:00', '2024-05-06T10:30', 'success', { head_sha: 'A' }),
    run('2024-05-07T09:00', '2024-05-07T09:20', 'failure', { head_sha: 'B' }),
    run('2024-05-07T11:00', '2024-05-07T11:20', 'success', { head_sha: 'C' }),
    run('2024-05-08T12:00', '2024-05-08T12:30', 'success', { head_sha: 'D' }),
    run('2024-05-09T03:00', '2024-05-09T03:40', 'failure', { head_sha: 'D', workflow: 'nightly', event: 'schedule' }),
    run('2024-05-09T14:00', '2024-05-09T14:10', 'failure', {
      run_id: 77,
      head_sha: 'E',
      event: 'pull_request',
      head_branch: 'feat/y',
    }),
    run('2024-05-09T14:00', '2024-05-09T14:40', 'success', {
      run_id: 77,
      run_attempt: 2,
      head_sha: 'E',
      event: 'pull_request',
      head_branch: 'feat/y',
    }),
    run('2024-05-10T16:00', '2024-05-10T16:02', 'cancelled', { head_sha: 'F' }),
    run('2024-05-13T09:00', '2024-05-13T09:10', 'failure', { head_sha: 'G' }),
    run('2024-05-13T10:00', '2024-05-13T11:00', 'timed_out', { head_sha: 'H' }),
    run('2024-05-14T09:00', '2024-05-14T09:10', 'success', { head_sha: 'I' }),
    run('2024-05-27T09:00', '2024-05-27T09:15', 'failure', { head_sha: 'J' }),
  ];
}
