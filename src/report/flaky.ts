/**
 * Flaky-run detection: a run is flaky when one attempt failed and a later attempt of the same run passed
 * on the same commit. Nothing changed in the code between the two, so the failure was not the change's fault.
 */
import { failureLabel, type RunRecord } from '../records/schema.ts';

export interface FlakyRun {
  repo: string;
  workflow: string;
  run_id: string;
  head_sha: string | null;
  head_branch: string | null;
  created_at: string;
  /** The last failing attempt before the pass, and the first passing attempt. */
  failed_attempt: number;
  passed_attempt: number;
}

export interface WorkflowFlakiness {
  repo: string;
  workflow: string;
  /** Runs with a success/failure outcome on some attempt. */
  runs: number;
  /** Runs with more than one attempt. */
  rerun_runs: number;
  flaky_runs: number;
  /** flaky_runs / runs. */
  flaky_rate: number;
}

export interface FlakyReport {
  flaky: FlakyRun[];
  workflows: WorkflowFlakiness[];
}

export function detectFlaky(runs: Iterable<RunRecord>): FlakyReport {
  const attempts = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = `${r.repo}\u0000${r.workflow}\u0000${r.run_id}`;
    const list = attempts.get(k);
    if (list) list.push(r);
    else attempts.set(k, [r]);
  }
  const flaky: FlakyRun[] = [];
  const stats = new Map<string, WorkflowFlakiness>();
  for (const list of attempts.values()) {
    list.sort((a, b) => a.run_attempt - b.run_attempt);
    const first = list[0];
    const sk = `${first.repo}\u0000${first.workflow}`;
    let s = stats.get(sk);
    if (!s)
      stats.set(
        sk,
        (s = { repo: first.repo, workflow: first.workflow, runs: 0, rerun_runs: 0, flaky_runs: 0, flaky_rate: 0 }),
      );
    if (list.every((r) => failureLabel(r.conclusion) === null)) continue;
    s.runs++;
    if (list.length > 1) s.rerun_runs++;
    let failed: RunRecord | null = null;
    for (const r of list) {
      const label = failureLabel(r.conclusion);
      if (label === 1) failed = r;
      // A different sha on a later attempt would mean the code changed: not evidence of flakiness.
      else if (label === 0 && failed && failed.head_sha !== r.head_sha) failed = null;
      else if (label === 0 && failed) {
        flaky.push({
          repo: r.repo,
          workflow: r.workflow,
          run_id: r.run_id,
          head_sha: r.head_sha,
          head_branch: r.head_branch,
          created_at: first.created_at,
          failed_attempt: failed.run_attempt,
          passed_attempt: r.run_attempt,
        });
        s.flaky_runs++;
        break;
      }
    }
  }
  for (const s of stats.values()) s.flaky_rate = s.runs > 0 ? s.flaky_runs / s.runs : 0;
  flaky.sort((a, b) =>
    a.repo !== b.repo
      ? a.repo < b.repo
        ? -1
        : 1
      : a.created_at !== b.created_at
        ? a.created_at < b.created_at
          ? -1
          : 1
        : a.run_id < b.run_id
          ? -1
          : 1,
  );
  const workflows = [...stats.values()]
    .filter((s) => s.runs > 0)
    .sort((a, b) =>
      a.repo !== b.repo ? (a.repo < b.repo ? -1 : 1) : a.workflow < b.workflow ? -1 : a.workflow > b.workflow ? 1 : 0,
    );
  return { flaky, workflows };
}
