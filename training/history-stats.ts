import { failureLabel, type RunRecord } from '../src/records/schema.ts';
import { compareCreatedOrder } from '../src/features/history.ts';

/**
 * Statistics of a run history that a model trained on it absorbs: how failures follow failures, how long
 * failure streaks last, how often runs are re-run and how often a re-run of the same commit flips the outcome.
 * The simulator's mechanisms are calibrated to these figures measured on real histories
 * (`npm run bench -- ml-history` prints them for ../shared/datasets and for the bundled sample).
 *
 * Sequences are per repo in (created_at, run_id, run_attempt) order over runs with a learnable outcome
 * (success / failure), the order the repo-level history features see them in.
 */
export interface HistoryStats {
  repos: number;
  runs: number;
  /** Mean over repos of each repo's failure rate, and its spread. */
  base_rate: number;
  base_rate_min: number;
  base_rate_max: number;
  /** Failures over all runs of all repos. */
  base_rate_pooled: number;
  /** Pooled over repos: P(fail | previous run failed), P(fail | previous run succeeded). */
  p_fail_after_fail: number;
  p_fail_after_success: number;
  /** Same, per (repo, branch) sequence, over runs that have a branch (NaN when none do). */
  branch_p_fail_after_fail: number;
  branch_p_fail_after_success: number;
  /** Failure streak lengths (runs) in the repo sequence. */
  fail_streak_mean: number;
  fail_streak_p50: number;
  fail_streak_p90: number;
  success_streak_mean: number;
  /** Share of failures that follow a success (the "first failure" slice). */
  first_failure_share: number;
  /** Share of records with run_attempt > 1. */
  rerun_share: number;
  /** Among commits (head_sha) built more than once with a learnable outcome, share with both outcomes. */
  same_commit_flip_share: number;
  /** Share of records whose change size (files_changed or additions) is unknown. */
  unknown_size_share: number;
  cancelled_share: number;
}

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** `records` in any order; they are grouped by repo and sorted. */
export function historyStats(records: Iterable<RunRecord>): HistoryStats {
  const byRepo = new Map<string, RunRecord[]>();
  let total = 0,
    reruns = 0,
    unknownSize = 0,
    cancelled = 0;
  for (const r of records) {
    total++;
    if (r.run_attempt > 1) reruns++;
    if (r.files_changed == null && r.additions == null) unknownSize++;
    if (r.conclusion === 'cancelled') cancelled++;
    let a = byRepo.get(r.repo);
    if (!a) byRepo.set(r.repo, (a = []));
    a.push(r);
  }
  const rates: number[] = [];
  const trans = { ff: 0, f: 0, sf: 0, s: 0 };
  const btrans = { ff: 0, f: 0, sf: 0, s: 0 };
  const failStreaks: number[] = [];
  const okStreaks: number[] = [];
  let failures = 0,
    firstFailures = 0,
    multi = 0,
    flips = 0,
    labelled = 0;
  for (const runs of byRepo.values()) {
    runs.sort(compareCreatedOrder);
    let prev: number | null = null;
    let streak = 0;
    let fails = 0,
      n = 0;
    const lastByBranch = new Map<string, number>();
    const bySha = new Map<string, number>(); // bit 1 = seen success, bit 2 = seen failure
    for (const r of runs) {
      const y = failureLabel(r.conclusion);
      if (y === null) continue;
      n++;
      fails += y;
      if (prev !== null) {
        if (prev === 1) {
          trans.f++;
          trans.ff += y;
        } else {
          trans.s++;
          trans.sf += y;
        }
      }
      if (y === 1 && prev !== 1) firstFailures++;
      if (prev === null || y === prev) streak++;
      else {
        (prev === 1 ? failStreaks : okStreaks).push(streak);
        streak = 1;
      }
      prev = y;
      if (r.head_branch != null) {
        const pb = lastByBranch.get(r.head_branch);
        if (pb !== undefined) {
          if (pb === 1) {
            btrans.f++;
            btrans.ff += y;
          } else {
            btrans.s++;
            btrans.sf += y;
          }
        }
        lastByBranch.set(r.head_branch, y);
      }
      if (r.head_sha)
        bySha.set(r.head_sha, (bySha.get(r.head_sha) ?? 0) | (y === 1 ? 2 : 1) | (bySha.has(r.head_sha) ? 4 : 0));
    }
    if (prev !== null) (prev === 1 ? failStreaks : okStreaks).push(streak);
    for (const v of bySha.values())
      if (v & 4) {
        multi++;
        if ((v & 3) === 3) flips++;
      }
    if (n > 0) rates.push(fails / n);
    failures += fails;
    labelled += n;
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    repos: byRepo.size,
    runs: labelled,
    base_rate: r4(mean(rates)),
    base_rate_min: r4(Math.min(...rates)),
    base_rate_max: r4(Math.max(...rates)),
    base_rate_pooled: r4(failures / labelled),
    p_fail_after_fail: r4(trans.ff / trans.f),
    p_fail_after_success: r4(trans.sf / trans.s),
    branch_p_fail_after_fail: r4(btrans.ff / btrans.f),
    branch_p_fail_after_success: r4(btrans.sf / btrans.s),
    fail_streak_mean: r4(mean(failStreaks)),
    fail_streak_p50: quantile(failStreaks, 0.5),
    fail_streak_p90: quantile(failStreaks, 0.9),
    success_streak_mean: r4(mean(okStreaks)),
    first_failure_share: r4(firstFailures / failures),
    rerun_share: r4(reruns / total),
    same_commit_flip_share: r4(multi ? flips / multi : NaN),
    unknown_size_share: r4(unknownSize / total),
    cancelled_share: r4(cancelled / total),
  };
}
