import type { RunRecord } from '../../src/records/schema.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { mulberry32 } from '../../src/ml/random.ts';

/** Small seeded PRNG for tests. */
export const rng = mulberry32;

/**
 * A random but awkward history for property-style tests: overlapping runs (long durations), missing
 * completion times, cancelled and running runs, re-run attempts, several actors, branches and events.
 */
export function randomHistory(seed: number, n: number, repos = ['acme/web', 'acme/api']): RunRecord[] {
  const r = rng(seed);
  const out: RunRecord[] = [];
  const start = Date.parse('2024-01-01T00:00:00Z');
  for (const repo of repos) {
    let t = start;
    for (let i = 0; i < n; i++) {
      t += Math.floor(r() * 3 * 3600_000);
      const dur = Math.floor(r() * 5 * 3600_000);
      const u = r();
      const conclusion =
        u < 0.55 ? 'success' : u < 0.85 ? 'failure' : u < 0.92 ? 'cancelled' : u < 0.96 ? null : 'timed_out';
      out.push(
        RunRecordSchema.parse({
          repo,
          run_id: 1000 + i,
          run_attempt: r() < 0.1 ? 2 : 1,
          workflow: r() < 0.7 ? 'ci' : 'nightly',
          head_branch: r() < 0.1 ? null : r() < 0.6 ? 'main' : `feature-${Math.floor(r() * 5)}`,
          event: r() < 0.1 ? null : r() < 0.6 ? 'push' : r() < 0.9 ? 'pull_request' : 'schedule',
          actor: r() < 0.1 ? null : `dev${Math.floor(r() * 6)}`,
          created_at: new Date(t).toISOString(),
          completed_at: conclusion === null || r() < 0.2 ? null : new Date(t + dur).toISOString(),
          conclusion,
          files: r() < 0.3 ? null : ['src/a.ts', r() < 0.2 ? 'package-lock.json' : 'test/a.test.ts'],
          additions: r() < 0.2 ? null : Math.floor(r() * 500),
          deletions: r() < 0.3 ? null : Math.floor(r() * 200),
        }),
      );
    }
  }
  return out;
}

/** A pending run (no outcome yet) of `repo` created at `at`, as a risk check describes it. */
export const pendingRun = (repo: string, at: number, extra: Partial<RunRecord> = {}): RunRecord =>
  RunRecordSchema.parse({
    repo,
    run_id: 'pending',
    workflow: 'ci',
    created_at: new Date(at).toISOString(),
    head_branch: 'main',
    event: 'push',
    actor: 'dev1',
    head_sha: 'abc',
    additions: 10,
    deletions: 2,
    ...extra,
  });

/**
 * A builder of finished runs with ids w0, w1, … (its own counter): each started `10 × minute` before `now`
 * and, unless its conclusion is null, completed a minute before; actors rotate over dev0..dev2.
 */
export function finishedRuns(minute: number) {
  let seq = 0;
  return (repo: string, now: number, conclusion: string | null, extra: Record<string, unknown> = {}): RunRecord =>
    RunRecordSchema.parse({
      repo,
      run_id: `w${seq++}`,
      workflow: 'ci',
      created_at: new Date(now - 10 * minute).toISOString(),
      completed_at: conclusion === null ? null : new Date(now - minute).toISOString(),
      conclusion,
      head_branch: 'main',
      event: 'push',
      actor: `dev${seq % 3}`,
      additions: 5,
      deletions: 1,
      ...extra,
    });
}

/** A complete run record as the store holds it: a successful push run of o/r with every optional field null. */
export const runRecord = (o: Partial<RunRecord> & { created_at: string }): RunRecord => ({
  repo: 'o/r',
  run_id: '1',
  workflow: 'ci',
  run_attempt: 1,
  head_sha: null,
  head_branch: 'main',
  event: 'push',
  actor: 'a',
  run_started_at: null,
  completed_at: null,
  conclusion: 'success',
  files_changed: null,
  additions: null,
  deletions: null,
  files: null,
  ...o,
});
