/**
 * The DORA four, approximated from CI run history alone (definitions in docs/report.md). Pure: takes runs,
 * returns figures. Every figure is bucketed by the local week of the created_at of the run it is about.
 */
import { failureLabel, type RunRecord } from '../records/schema.ts';
import { addWeeks, WeekClock, weekRange } from './weeks.ts';

export interface DoraOptions {
  /** Only the last N weeks up to the week of the newest run (all weeks when absent). */
  weeks?: number;
  /** IANA zone whose Monday midnight starts a week (default UTC). */
  timezone?: string;
  /** Workflows that deploy. When any run matches, only these count as deployments; otherwise default-branch pushes do. */
  deployWorkflows?: RegExp;
  /** The branch deployments come from; detected as the most-pushed of main/master/trunk/develop/… when absent. */
  defaultBranch?: string;
}

export interface DoraWeek {
  week_start: string;
  deployments: number;
  deployment_frequency_per_day: number;
  lead_time_hours_p50: number | null;
  change_failure_rate: number | null;
  time_to_restore_hours_p50: number | null;
  /** Runs (final attempts, any branch or workflow) created this week, and how many of them failed. */
  runs: number;
  failures: number;
  /** Finished deployment-pipeline runs and the failed ones: the numerator and denominator of the CFR. */
  changes: number;
  failed_changes: number;
  /** Incidents (a failure on a healthy pipeline) opened this week that were restored, whenever that happened. */
  restores: number;
}

export interface DoraTotals extends Omit<DoraWeek, 'week_start'> {
  weeks: number;
  from: string | null;
  to: string | null;
  /** Incidents still open at the end of the history: since when (ISO), per workflow. */
  open_incidents: { workflow: string; since: string }[];
}

export interface DoraReport {
  repo: string | null;
  default_branch: string;
  deploy_source: 'workflows' | 'default_branch_pushes';
  timezone: string;
  weeks: DoraWeek[];
  totals: DoraTotals;
}

export const DEFAULT_DEPLOY_WORKFLOWS = /deploy|release/i;
const DEFAULT_BRANCH_NAMES = new Set(['main', 'master', 'trunk', 'develop', 'default']);
const HOUR_MS = 3_600_000;

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Keeps the last attempt of each run: a re-run that passed means the change did not fail. */
export function finalAttempts(runs: Iterable<RunRecord>): RunRecord[] {
  const last = new Map<string, RunRecord>();
  for (const r of runs) {
    const k = `${r.repo}\u0000${r.workflow}\u0000${r.run_id}`;
    const prev = last.get(k);
    if (!prev || r.run_attempt > prev.run_attempt) last.set(k, r);
  }
  return [...last.values()].sort((a, b) =>
    a.created_at < b.created_at
      ? -1
      : a.created_at > b.created_at
        ? 1
        : a.run_id < b.run_id
          ? -1
          : a.run_id > b.run_id
            ? 1
            : 0,
  );
}

function detectDefaultBranch(runs: RunRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of runs)
    if (r.event === 'push' && r.head_branch) counts.set(r.head_branch, (counts.get(r.head_branch) ?? 0) + 1);
  let best: string | null = null;
  for (const [b, n] of counts) if (DEFAULT_BRANCH_NAMES.has(b) && (best === null || n > counts.get(best)!)) best = b;
  return best ?? 'main';
}

const hours = (fromIso: string, toIso: string): number => (Date.parse(toIso) - Date.parse(fromIso)) / HOUR_MS;

interface WeekAcc {
  deployments: number;
  leadTimes: number[];
  changes: number;
  failedChanges: number;
  restoreTimes: number[];
  runs: number;
  failures: number;
}

const emptyAcc = (): WeekAcc => ({
  deployments: 0,
  leadTimes: [],
  changes: 0,
  failedChanges: 0,
  restoreTimes: [],
  runs: 0,
  failures: 0,
});

function figures(a: WeekAcc, days: number): Omit<DoraWeek, 'week_start'> {
  return {
    deployments: a.deployments,
    deployment_frequency_per_day: days > 0 ? a.deployments / days : 0,
    lead_time_hours_p50: median(a.leadTimes),
    change_failure_rate: a.changes > 0 ? a.failedChanges / a.changes : null,
    time_to_restore_hours_p50: median(a.restoreTimes),
    runs: a.runs,
    failures: a.failures,
    changes: a.changes,
    failed_changes: a.failedChanges,
    restores: a.restoreTimes.length,
  };
}

/** DORA figures for one repo's runs (throws if the runs mix repos: use `computeDoraByRepo`). */
export function computeDora(input: Iterable<RunRecord>, opts: DoraOptions = {}): DoraReport {
  if (opts.weeks !== undefined && (!Number.isInteger(opts.weeks) || opts.weeks < 1))
    throw new RangeError(`weeks: must be a positive integer, got ${opts.weeks}`);
  const timezone = opts.timezone ?? 'UTC';
  let clock: WeekClock;
  try {
    clock = new WeekClock(timezone);
  } catch {
    throw new RangeError(`timezone: unknown IANA time zone "${timezone}"`);
  }
  const runs = finalAttempts(input);
  const repos = new Set(runs.map((r) => r.repo));
  if (repos.size > 1) throw new RangeError(`computeDora takes one repo's runs, got ${repos.size} repos`);
  const repo = runs[0]?.repo ?? null;
  const defaultBranch = opts.defaultBranch ?? detectDefaultBranch(runs);
  const deployRe = opts.deployWorkflows ?? DEFAULT_DEPLOY_WORKFLOWS;
  const hasDeployWorkflows = runs.some((r) => deployRe.test(r.workflow));
  // The deployment pipeline: runs whose success ships the change.
  const isPipeline = hasDeployWorkflows
    ? (r: RunRecord) => deployRe.test(r.workflow)
    : (r: RunRecord) => r.event === 'push' && r.head_branch === defaultBranch;

  const acc = new Map<string, WeekAcc>();
  const at = (week: string): WeekAcc => {
    let a = acc.get(week);
    if (!a) acc.set(week, (a = emptyAcc()));
    return a;
  };

  // Lead time starts at the first run seen for a commit on any branch (its pull request), a proxy for commit time.
  const firstSeen = new Map<string, string>();
  for (const r of runs) if (r.head_sha && !firstSeen.has(r.head_sha)) firstSeen.set(r.head_sha, r.created_at);

  const deployed = new Set<string>();
  for (const r of runs) {
    const a = at(clock.weekStart(Date.parse(r.created_at)));
    a.runs++;
    const label = failureLabel(r.conclusion);
    if (label === 1) a.failures++;
    if (!isPipeline(r) || label === null) continue;
    a.changes++;
    if (label === 1) a.failedChanges++;
    else if (r.completed_at) {
      // One commit shipped by several pipeline workflows (or re-deployed) is one deployment.
      const key = r.head_sha ?? `run:${r.workflow}:${r.run_id}`;
      if (deployed.has(key)) continue;
      deployed.add(key);
      a.deployments++;
      a.leadTimes.push(hours((r.head_sha && firstSeen.get(r.head_sha)) || r.created_at, r.completed_at));
    }
  }

  // Time to restore, per pipeline workflow, in completion order: a failure on a healthy workflow opens an
  // incident; the next success closes it.
  const byWorkflow = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (!isPipeline(r) || failureLabel(r.conclusion) === null || !r.completed_at) continue;
    const list = byWorkflow.get(r.workflow) ?? [];
    list.push(r);
    byWorkflow.set(r.workflow, list);
  }
  const openIncidents: { workflow: string; since: string }[] = [];
  for (const [workflow, list] of byWorkflow) {
    list.sort((a, b) => (a.completed_at! < b.completed_at! ? -1 : a.completed_at! > b.completed_at! ? 1 : 0));
    let open: RunRecord | null = null;
    for (const r of list) {
      const failed = failureLabel(r.conclusion) === 1;
      if (failed && !open) open = r;
      else if (!failed && open) {
        at(clock.weekStart(Date.parse(open.created_at))).restoreTimes.push(hours(open.completed_at!, r.completed_at!));
        open = null;
      }
    }
    if (open) openIncidents.push({ workflow, since: open.completed_at! });
  }

  const all = [...acc.keys()].sort();
  let shown: string[] = all.length ? weekRange(all[0], all[all.length - 1]) : [];
  // The window never reaches back before the first run: weeks with no history are unknown, not zero.
  if (opts.weeks !== undefined && shown.length > opts.weeks) shown = shown.slice(-opts.weeks);
  const total = emptyAcc();
  const weeks: DoraWeek[] = shown.map((week) => {
    const a = acc.get(week) ?? emptyAcc();
    total.deployments += a.deployments;
    total.leadTimes.push(...a.leadTimes);
    total.changes += a.changes;
    total.failedChanges += a.failedChanges;
    total.restoreTimes.push(...a.restoreTimes);
    total.runs += a.runs;
    total.failures += a.failures;
    return { week_start: week, ...figures(a, 7) };
  });
  return {
    repo,
    default_branch: defaultBranch,
    deploy_source: hasDeployWorkflows ? 'workflows' : 'default_branch_pushes',
    timezone,
    weeks,
    totals: {
      weeks: shown.length,
      from: shown[0] ?? null,
      to: shown.length ? addWeeks(shown[shown.length - 1], 1) : null,
      ...figures(total, shown.length * 7),
      open_incidents: openIncidents.sort((a, b) => (a.since < b.since ? -1 : 1)),
    },
  };
}

/** One report per repo, repos in name order. */
export function computeDoraByRepo(runs: Iterable<RunRecord>, opts: DoraOptions = {}): DoraReport[] {
  const by = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const list = by.get(r.repo) ?? [];
    list.push(r);
    by.set(r.repo, list);
  }
  return [...by.keys()].sort().map((repo) => computeDora(by.get(repo)!, opts));
}
