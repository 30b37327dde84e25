/**
 * Pure shaping of stored runs and events into what the dashboard pages draw. No I/O: the router feeds it
 * the store's iterators and event lists, so every figure here can be checked with plain arrays.
 */
import { DEFAULT_CRON, type JobName } from '../config/background.ts';
import { JOB_NAMES } from '../../training/scheduler.ts';
import { createHash } from 'node:crypto';
import { failureLabel, type RunRecord } from '../records/schema.ts';

export interface StoredEvent {
  at: string;
  key: string;
  payload: Record<string, unknown>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Monday 00:00 UTC of the week containing `ms`, as YYYY-MM-DD. */
export function weekStartUtc(ms: number): string {
  const d = new Date(ms);
  const dow = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - dow)).toISOString().slice(0, 10);
}

export interface WeeklyFailureRate {
  weeks: string[];
  /** One series per repo plus "all repos"; rate is null for a week without finished runs. */
  series: { repo: string; runs: number[]; failures: number[]; rate: (number | null)[] }[];
}

/** A risk check as the overview lists it, with the outcome of the run it predicted once that run finished. */
export interface RiskRow {
  id: string;
  at: string;
  repo: string;
  head_sha: string | null;
  probability: number;
  risk_level: string | null;
  model: string | null;
  outcome: string | null;
  /** 1 failed, 0 succeeded, null unknown/unlearnable: lets the page mark hits and misses. */
  failed: 0 | 1 | null;
}

/**
 * A stable id for a risk event: events have no id of their own, and the position in the log shifts as new
 * checks arrive, so a link to one check must be derived from what the check itself says.
 */
export function riskEventId(e: StoredEvent): string {
  const p = e.payload;
  return createHash('sha256')
    .update(
      `${str(p.at) ?? e.at}\u0000${str(p.repo) ?? e.key}\u0000${str(p.head_sha) ?? ''}\u0000${num(p.probability) ?? ''}`,
    )
    .digest('hex')
    .slice(0, 16);
}

export function riskRow(e: StoredEvent): Omit<RiskRow, 'outcome' | 'failed'> | null {
  const p = e.payload;
  const probability = num(p.probability);
  const repo = str(p.repo) ?? str(e.key);
  if (probability === null || !repo) return null; // a malformed event is skipped, never drawn as 0 %
  const model = typeof p.model === 'string' ? p.model : str(obj(p.model).id);
  return {
    id: riskEventId(e),
    at: str(p.at) ?? e.at,
    repo,
    head_sha: str(p.head_sha),
    probability,
    risk_level: str(p.risk_level),
    model,
  };
}

const shaKey = (repo: string, sha: string) => `${repo}\u0000${sha}`;

/**
 * One pass over the stored runs: weekly failure rates (per repo and overall) and the conclusion of the runs
 * the risk checks were about. A re-run's later attempt wins, since that is the outcome people saw last.
 */
export function summariseRuns(
  runs: Iterable<RunRecord>,
  wantedShas: Iterable<{ repo: string; head_sha: string | null }>,
): {
  weekly: WeeklyFailureRate;
  outcomes: Map<string, string | null>;
} {
  const wanted = new Set<string>();
  for (const w of wantedShas) if (w.head_sha) wanted.add(shaKey(w.repo, w.head_sha));
  const outcomes = new Map<string, { attempt: number; created: string; conclusion: string | null }>();
  const perRepo = new Map<string, Map<string, [number, number]>>();
  const weeks = new Set<string>();
  for (const r of runs) {
    if (r.head_sha && wanted.has(shaKey(r.repo, r.head_sha))) {
      const k = shaKey(r.repo, r.head_sha);
      const prev = outcomes.get(k);
      if (!prev || r.created_at > prev.created || (r.created_at === prev.created && r.run_attempt > prev.attempt)) {
        outcomes.set(k, { attempt: r.run_attempt, created: r.created_at, conclusion: r.conclusion });
      }
    }
    const label = failureLabel(r.conclusion);
    if (label === null) continue;
    const week = weekStartUtc(Date.parse(r.created_at));
    weeks.add(week);
    let m = perRepo.get(r.repo);
    if (!m) perRepo.set(r.repo, (m = new Map()));
    const c = m.get(week) ?? [0, 0];
    c[0]++;
    c[1] += label;
    m.set(week, c);
  }
  const weekList = [...weeks].sort();
  const series: WeeklyFailureRate['series'] = [];
  const all = {
    repo: 'all repos',
    runs: weekList.map(() => 0),
    failures: weekList.map(() => 0),
    rate: [] as (number | null)[],
  };
  for (const repo of [...perRepo.keys()].sort()) {
    const m = perRepo.get(repo)!;
    const runsN = weekList.map((w) => m.get(w)?.[0] ?? 0);
    const fails = weekList.map((w) => m.get(w)?.[1] ?? 0);
    runsN.forEach((n, i) => {
      all.runs[i] += n;
      all.failures[i] += fails[i];
    });
    series.push({ repo, runs: runsN, failures: fails, rate: runsN.map((n, i) => (n ? fails[i] / n : null)) });
  }
  all.rate = all.runs.map((n, i) => (n ? all.failures[i] / n : null));
  if (series.length > 1) series.unshift(all);
  const out = new Map<string, string | null>();
  for (const [k, v] of outcomes) out.set(k, v.conclusion);
  return { weekly: { weeks: weekList, series }, outcomes: out };
}

export function joinOutcomes(
  rows: Omit<RiskRow, 'outcome' | 'failed'>[],
  outcomes: Map<string, string | null>,
): RiskRow[] {
  return rows.map((r) => {
    const outcome = r.head_sha ? (outcomes.get(shaKey(r.repo, r.head_sha)) ?? null) : null;
    return { ...r, outcome, failed: failureLabel(outcome) };
  });
}

export interface WaterfallStep {
  label: string;
  kind: 'base' | 'factor' | 'rest' | 'final';
  value: number | null;
  /** Bar from `start` to `end` in the explanation's unit. */
  start: number;
  end: number;
}

export interface Waterfall {
  space: 'log-odds' | 'probability';
  steps: WaterfallStep[];
  probability: number;
}

const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

/** Explanations are additive in log-odds for trees and linear models, in probability for the rest. */
export function factorSpace(payload: Record<string, unknown>): 'log-odds' | 'probability' {
  if (payload.space === 'probability' || payload.space === 'log-odds') return payload.space;
  const kind = str(obj(payload.model).kind) ?? (typeof payload.model === 'string' ? payload.model.split('-')[0] : null);
  return kind === 'forest' || kind === 'baseline' || kind === 'mlp' ? 'probability' : 'log-odds';
}

/**
 * base → each factor → final score. Risk events keep only the top factors and the final probability is
 * calibrated, so unless the event carries its base the first bar is "base and unlisted factors" (whatever the
 * listed factors do not explain); with a base, that remainder gets its own bar instead.
 */
export function waterfall(payload: Record<string, unknown>): Waterfall | null {
  const probability = num(payload.probability);
  if (probability === null) return null;
  const space = factorSpace(payload);
  const final = space === 'log-odds' ? logit(probability) : probability;
  const factors = (Array.isArray(payload.factors) ? payload.factors : [])
    .map((f) => obj(f))
    .filter((f) => str(f.feature) && num(f.contribution) !== null)
    .map((f) => ({ feature: f.feature as string, value: num(f.value), contribution: f.contribution as number }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const sum = factors.reduce((s, f) => s + f.contribution, 0);
  const base = num(payload.base);
  const steps: WaterfallStep[] = [];
  const start = base ?? final - sum;
  steps.push({
    label: base === null ? 'base + unlisted factors' : 'base',
    kind: 'base',
    value: null,
    start: 0,
    end: start,
  });
  let at = start;
  for (const f of factors) {
    steps.push({ label: f.feature, kind: 'factor', value: f.value, start: at, end: at + f.contribution });
    at += f.contribution;
  }
  if (base !== null && Math.abs(final - at) > 1e-9) {
    steps.push({ label: 'unlisted factors + calibration', kind: 'rest', value: null, start: at, end: final });
  }
  steps.push({ label: 'final', kind: 'final', value: probability, start: 0, end: final });
  return { space, steps, probability };
}

export interface CanaryMetricView {
  name: string;
  canary: number | null;
  baseline: number | null;
  classification: string | null;
}

export interface CanaryDecisionView {
  at: string;
  service: string;
  version: string | null;
  from_weight: number | null;
  weight: number;
  action: string;
  verdict: string | null;
  score: number | null;
  risk: number | null;
  reasons: string[];
  metrics: CanaryMetricView[];
}

function metricViews(v: unknown): CanaryMetricView[] {
  if (Array.isArray(v)) {
    return v
      .map((m) => obj(m))
      .filter((m) => str(m.name))
      .map((m) => ({
        name: m.name as string,
        canary: num(m.canary_mean) ?? num(m.canary),
        baseline: num(m.baseline_mean) ?? num(m.baseline),
        classification: str(m.classification),
      }));
  }
  // Summary form: { latency_p99: { canary, baseline } }
  return Object.entries(obj(v)).map(([name, m]) => ({
    name,
    canary: num(obj(m).canary),
    baseline: num(obj(m).baseline),
    classification: str(obj(m).classification),
  }));
}

/**
 * Canary decisions come in two shapes: the dashboard's summary event (`canary`: service, version, weight,
 * action, reasons, metrics) and the canary service's full log (`canary_decision`: request + response).
 * Both become one view, oldest first so weight can be drawn as a step over time.
 */
export function canaryDecisions(events: StoredEvent[]): CanaryDecisionView[] {
  const out: CanaryDecisionView[] = [];
  for (const e of events) {
    const p = e.payload;
    const resp = obj(p.response);
    const req = obj(p.request);
    const dep = obj(p.deployment);
    const weight = num(p.weight) ?? num(resp.next_weight);
    const action = str(p.action) ?? str(resp.action);
    if (weight === null || !action) continue;
    const reasons = (Array.isArray(p.reasons) ? p.reasons : Array.isArray(resp.reasons) ? resp.reasons : []).filter(
      (r): r is string => typeof r === 'string',
    );
    out.push({
      at: str(p.at) ?? e.at,
      service: str(p.service) ?? str(dep.service) ?? e.key,
      version: str(p.version) ?? str(dep.version),
      from_weight: num(p.from_weight) ?? num(p.current_weight) ?? num(req.current_weight),
      weight,
      action,
      verdict: str(p.verdict) ?? str(resp.verdict),
      score: num(p.score) ?? num(resp.score),
      risk: num(p.risk) ?? num(resp.risk),
      reasons,
      metrics: metricViews(p.metrics ?? resp.metrics),
    });
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

export interface JobView {
  at: string;
  job: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  result: string;
  /** What the job did, in a few words (retrain: promoted or rejected; ingest: new runs per repo; skipped: why). */
  detail: string | null;
  error: string | null;
}

function resultDetail(r: unknown): string | null {
  const o = obj(r);
  if (Object.keys(o).length === 0) return null;
  if (typeof o.challenger === 'string')
    return `${o.challenger} ${o.promoted ? 'promoted' : o.on_trial ? 'on shadow trial' : 'rejected'}`;
  if (Array.isArray(o.repos))
    return (
      o.repos.map((x) => `${str(obj(x).repo) ?? '?'}: ${num(obj(x).inserted) ?? 0} new`).join(', ') || 'no repositories'
    );
  if (o.evaluated === true)
    return `champion PR-AUC ${num(obj(o.metrics).pr_auc)?.toFixed(3) ?? '?'} on ${num(o.rows) ?? '?'} runs`;
  if (typeof o.reason === 'string') return o.reason;
  const text = JSON.stringify(o);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export function jobRuns(events: StoredEvent[]): JobView[] {
  const out: JobView[] = [];
  for (const e of events) {
    const p = e.payload;
    const job = str(p.job) ?? str(e.key);
    if (!job) continue;
    out.push({
      at: str(p.finished_at) ?? str(p.started_at) ?? e.at,
      job,
      started_at: str(p.started_at),
      finished_at: str(p.finished_at),
      duration_ms: num(p.duration_ms),
      // The scheduler records `status` (ok/error/skipped) and `result` as an object (what the job did); the page
      // read `result` as the status and showed every job as "unknown" / failed while `riskgate jobs` said ok.
      result: str(p.status) ?? str(p.result) ?? 'unknown',
      detail: str(p.reason) ?? resultDetail(p.result),
      error: str(p.error),
    });
  }
  return out.sort((a, b) => b.at.localeCompare(a.at));
}

/** Per job: last run, last result and success share over the listed runs. */
export function jobSummary(
  runs: JobView[],
): { job: string; last_at: string; last_result: string; runs: number; ok: number; p50_ms: number | null }[] {
  const by = new Map<string, JobView[]>();
  for (const r of runs) by.set(r.job, [...(by.get(r.job) ?? []), r]);
  return [...by.entries()]
    .map(([job, rs]) => {
      const d = rs
        .map((r) => r.duration_ms)
        .filter((x): x is number => x !== null)
        .sort((a, b) => a - b);
      return {
        job,
        last_at: rs[0].at,
        last_result: rs[0].result,
        runs: rs.length,
        ok: rs.filter((r) => r.result === 'ok' || r.result === 'success').length,
        p50_ms: d.length ? d[(d.length - 1) >> 1] : null,
      };
    })
    .sort((a, b) => a.job.localeCompare(b.job));
}

/** The scheduler's own jobs and defaults, so the page shows exactly what `riskgate serve` / `worker` run. */
const JOB_HELP: Record<JobName, string> = {
  ingest: 'pull new workflow runs from GitHub',
  retrain: 'train a challenger and compare it with the champion',
  evaluate: 're-score the champion on the newest data',
};
const SCHEDULE_ENV = JOB_NAMES.map((job) => ({
  job,
  variable: `RISKGATE_${job.toUpperCase()}_CRON`,
  default: DEFAULT_CRON[job],
  help: JOB_HELP[job],
}));

export function schedule(
  cron: Record<JobName, string>,
): { job: string; cron: string; source: 'env' | 'default'; variable: string; help: string }[] {
  return SCHEDULE_ENV.map((s) => {
    const v = cron[s.job];
    return { job: s.job, cron: v, source: v === s.default ? 'default' : 'env', variable: s.variable, help: s.help };
  });
}
