/**
 * Feature names and values as a person reads them ("Hours since previous run: 10.4 days" rather than
 * `hours_since_prev_run = 249.6`). Shared by the dashboard's server side and its browser bundle. A name
 * not listed here is shown with its underscores as spaces, so a new feature is never unreadable, only plain.
 */
const NAMES: Record<string, string> = {
  files_changed: 'Files changed',
  additions: 'Lines added',
  deletions: 'Lines deleted',
  churn: 'Lines changed',
  touches_deps: 'Touches dependency manifests',
  touches_ci: 'Touches CI configuration',
  share_test: 'Share of test files',
  share_docs: 'Share of docs files',
  share_source: 'Share of source files',
  hour: 'Hour of day',
  weekday: 'Weekday',
  is_monday: 'Monday',
  is_friday_afternoon: 'Friday afternoon',
  off_hours: 'Outside working hours',
  last_outcome: 'Previous run failed',
  previous_outcome: 'Run before that failed',
  consecutive_failures: 'Failures in a row',
  consecutive_successes: 'Successes in a row',
  fail_rate_5: 'Failure rate, last 5 runs',
  fail_rate_20: 'Failure rate, last 20 runs',
  fail_rate_100: 'Failure rate, last 100 runs',
  fail_rate_24h: 'Failure rate, last 24 h',
  fail_rate_7d: 'Failure rate, last 7 days',
  hours_since_last_failure: 'Time since last failure',
  runs_24h: 'Runs in the last 24 h',
  runs_1h: 'Runs in the last hour',
  hours_since_prev_run: 'Time since previous run',
  prev_run_churn: 'Lines changed by the previous run',
  churn_vs_median: 'Lines changed vs the median',
  wb_last_outcome: 'Previous run of this workflow and branch failed',
  wb_consecutive_failures: 'Failures in a row, this workflow and branch',
  wb_fail_rate_10: 'Failure rate, last 10 of this workflow and branch',
  same_change_last_outcome: 'This commit failed before',
  same_change_runs: 'Earlier runs of this commit',
  event_last_outcome: 'Previous run of this event type failed',
  event_fail_rate_10: 'Failure rate, last 10 of this event type',
  author_fail_rate: "Author's failure rate",
  author_runs: "Author's runs",
  is_push: 'Push event',
  is_pull_request: 'Pull request',
  is_schedule: 'Scheduled run',
  run_attempt: 'Attempt',
  is_default_branch: 'Default branch',
};
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const YES_NO = /^(is_|touches_|off_hours$|.*last_outcome$|previous_outcome$)/;

export function featureLabel(name: string): string {
  return NAMES[name] ?? name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** Hours as h / days / years: 10.4 h, 10.4 days, 623 days, 3.1 years. */
export function hoursText(h: number): string {
  if (h < 48) return `${Number(h.toFixed(1))} h`;
  if (h < 24 * 100) return `${Number((h / 24).toFixed(1))} days`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24)} days`;
  return `${Number((h / 24 / 365).toFixed(1))} years`;
}

export function featureValue(name: string, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'unknown';
  if (name.startsWith('hours_')) return hoursText(v);
  if (YES_NO.test(name) && (v === 0 || v === 1)) return v === 1 ? 'yes' : 'no';
  if (/(^|_)(fail_rate|share)(_|$)|^author_fail_rate$/.test(name)) return `${Number((v * 100).toFixed(1))} %`;
  if (name === 'weekday' && Number.isInteger(v) && v >= 0 && v < 7) return WEEKDAYS[v];
  if (name === 'hour' && Number.isInteger(v)) return `${String(v).padStart(2, '0')}:00`;
  if (name === 'churn_vs_median') return `${Number(v.toFixed(2))}×`;
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toFixed(3)));
}

/** "Time since previous run: 1.7 years" */
export function factorText(name: string, v: number | null): string {
  return `${featureLabel(name)}: ${featureValue(name, v)}`;
}
