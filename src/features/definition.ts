import type { RunRecord } from '../records/schema.ts';
import { Calendar } from './calendar.ts';
import { classifyFiles } from './files.ts';
import { DAY, HOUR, RepoHistory, changeSignature, scopeKey } from './history.ts';

/**
 * THE feature definition. Training (frame.ts) and serving (live.ts) both call `featurize`, with a
 * RepoHistory fed in the same order, so a run gets the same vector in both. Missing stays NaN.
 */
export const FEATURES = [
  // change impact
  'files_changed',
  'additions',
  'deletions',
  'churn',
  'touches_deps',
  'touches_ci',
  'share_test',
  'share_docs',
  'share_source',
  // time, in the configured zone
  'hour',
  'weekday',
  'is_monday',
  'is_friday_afternoon',
  'off_hours',
  // history of the repository (outcomes known before the run was created)
  'last_outcome',
  'previous_outcome',
  'consecutive_failures',
  'consecutive_successes',
  'fail_rate_5',
  'fail_rate_20',
  'fail_rate_100',
  'fail_rate_24h',
  'fail_rate_7d',
  'hours_since_last_failure',
  'runs_24h',
  'runs_1h',
  'hours_since_prev_run',
  'prev_run_churn',
  'churn_vs_median',
  // same workflow and branch
  'wb_last_outcome',
  'wb_consecutive_failures',
  'wb_fail_rate_10',
  // same change (commit) built before: re-runs, other workflows, push + pull_request twins
  'same_change_last_outcome',
  'same_change_runs',
  // same event type
  'event_last_outcome',
  'event_fail_rate_10',
  // author
  'author_fail_rate',
  'author_runs',
  // context
  'is_push',
  'is_pull_request',
  'is_schedule',
  'run_attempt',
  'is_default_branch',
] as const;

export type FeatureName = (typeof FEATURES)[number];
export const FEATURE_COUNT = FEATURES.length;
export const FEATURE_INDEX: Record<FeatureName, number> = Object.fromEntries(FEATURES.map((f, i) => [f, i])) as Record<
  FeatureName,
  number
>;

export interface FeatureOptions {
  calendar: Calendar;
  defaultBranches?: ReadonlySet<string>;
}

export const DEFAULT_BRANCHES: ReadonlySet<string> = new Set(['main', 'master', 'trunk', 'default', 'develop']);

const num = (v: number | null): number => (v == null ? NaN : v);
const flag = (b: boolean): number => (b ? 1 : 0);

/** Lines changed by the run's commit (additions + deletions), NaN when unknown. */
export function runChurn(r: Pick<RunRecord, 'additions' | 'deletions'>): number {
  return r.additions == null && r.deletions == null ? NaN : (r.additions ?? 0) + (r.deletions ?? 0);
}

/** Writes the feature vector of `r` (given the history known before it) into out[offset … offset+FEATURE_COUNT). */
export function featurize(
  r: RunRecord,
  h: RepoHistory,
  opts: FeatureOptions,
  out: Float32Array | Float64Array,
  offset = 0,
): void {
  const created = Date.parse(r.created_at);
  const files = r.files;
  const filesChanged = r.files_changed ?? (files ? files.length : null);
  const mix = classifyFiles(files);
  const { hour, weekday } = opts.calendar.at(created);
  const weekend = weekday === 0 || weekday === 6;
  const wb = scopeKey(r);
  const wbStats = h.scoped((i) => h.scopeOf(i) === wb, 10);
  const sig = changeSignature(r);
  const sameChange = sig === '' ? null : h.scoped((i) => h.sigOf(i) === sig, 10);
  const evStats = r.event == null ? null : h.scoped((i) => h.eventOf(i) === r.event, 10);
  const author = h.author(r.actor);
  const act = h.activity(created, DAY);
  const churn = runChurn(r);
  const median = Number.isNaN(churn) ? NaN : h.medianChurn(created, 50);
  const defaults = opts.defaultBranches ?? DEFAULT_BRANCHES;

  let k = offset;
  out[k++] = num(filesChanged);
  out[k++] = num(r.additions);
  out[k++] = num(r.deletions);
  out[k++] = churn;
  out[k++] = mix.touchesDeps;
  out[k++] = mix.touchesCi;
  out[k++] = mix.shareTest;
  out[k++] = mix.shareDocs;
  out[k++] = mix.shareSource;
  out[k++] = hour;
  out[k++] = weekday;
  out[k++] = flag(weekday === 1);
  out[k++] = flag(weekday === 5 && hour >= 12);
  out[k++] = flag(weekend || hour < 8 || hour >= 19);
  out[k++] = h.lastOutcome();
  out[k++] = h.previousOutcome();
  out[k++] = h.consecutiveFailures();
  out[k++] = h.consecutiveSuccesses();
  out[k++] = h.rateLast(5);
  out[k++] = h.rateLast(20);
  out[k++] = h.rateLast(100);
  out[k++] = h.rateSince(created, DAY);
  out[k++] = h.rateSince(created, 7 * DAY);
  out[k++] = h.hoursSinceLastFailure(created);
  out[k++] = act.count;
  out[k++] = h.activity(created, HOUR).count;
  out[k++] = act.hoursSincePrev;
  out[k++] = act.prevChurn;
  out[k++] = Number.isNaN(median) ? NaN : churn / (median + 1);
  out[k++] = wbStats.last;
  out[k++] = wbStats.streak;
  out[k++] = wbStats.rate;
  out[k++] = sameChange ? sameChange.last : NaN;
  out[k++] = sameChange ? sameChange.seen : NaN;
  out[k++] = evStats ? evStats.last : NaN;
  out[k++] = evStats ? evStats.rate : NaN;
  out[k++] = author.rate;
  out[k++] = r.actor == null ? NaN : author.runs;
  out[k++] = r.event == null ? NaN : flag(r.event === 'push');
  out[k++] = r.event == null ? NaN : flag(r.event === 'pull_request' || r.event === 'pull_request_target');
  out[k++] = r.event == null ? NaN : flag(r.event === 'schedule');
  out[k++] = r.run_attempt;
  out[k] = r.head_branch == null ? NaN : flag(defaults.has(r.head_branch));
}
