import { buildFrame, type Frame } from '../src/features/frame.ts';
import { FEATURE_INDEX, type FeatureName } from '../src/features/definition.ts';
import { f1At, prAuc, rocAuc } from '../src/ml/metrics.ts';
import type { ModelKind } from '../src/ml/model.ts';
import { trainModel, type TrainOptions } from '../src/ml/train.ts';
import { searchesFor, thresholdsByGroup, tuneGbdt, type TuneMode, type TuneTrial } from '../src/ml/tune.ts';
import type { RiskModel } from '../src/ml/model.ts';
import type { RunRecord } from '../src/records/schema.ts';
import { takeRows, timeOrder } from './split.ts';

/**
 * Metrics inside a slice of the test runs: `after_success` are runs whose previous known outcome was a success
 * (its failures are the first failures, which "ends like the last run" never predicts), `after_failure` runs
 * following a failure (repeated failures). ROC-AUC there asks: among these runs, are the failing ones ranked first?
 */
export interface SliceScore {
  runs: number;
  failures: number;
  roc_auc: number;
  pr_auc: number;
  /** Share of the slice's failures flagged at the repo's threshold. */
  recall: number;
  /** Share of the slice's successes flagged (false alarms). */
  false_alarm_rate: number;
  baseline: { roc_auc: number; pr_auc: number; recall: number; false_alarm_rate: number };
}

export interface RepoScore {
  repo: string;
  test_runs: number;
  failure_rate: number;
  threshold: number;
  f1: number;
  pr_auc: number;
  roc_auc: number;
  baseline: { f1: number; pr_auc: number; roc_auc: number };
  after_success: SliceScore;
  after_failure: SliceScore;
}

export interface BacktestResult {
  model: ModelKind;
  threshold: number;
  /** Per-repo F1 thresholds chosen on each repo's validation slice (repos with few failures there keep `threshold`). */
  thresholds: Record<string, number>;
  /** The tuning search's trials and chosen setting (gbdt with tuning on). */
  tuning?: { chosen: TuneTrial; trials: TuneTrial[]; truncated: boolean };
  predictions: { repo: string; run_id: string; probability: number; predicted_failure: 0 | 1 }[];
  repos: RepoScore[];
  mean: { f1: number; pr_auc: number; roc_auc: number };
  baselineMean: { f1: number; pr_auc: number; roc_auc: number };
  /** Means over repos of the slice ROC-AUCs (repos whose slice lacks either class are left out). */
  sliceMean: {
    after_success: { roc_auc: number; baseline_roc_auc: number };
    after_failure: { roc_auc: number; baseline_roc_auc: number };
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The backtest contract: per repo, the last `testFraction` of its success/failure runs (in (created_at, run_id)
 * order) are the test set; the model trains on everything before them (all repos together) and each test run is
 * scored from features built with only what was known before its created_at — the frame builder feeds earlier
 * outcomes back as they become known, exactly as the live service learns of them.
 */
export async function backtest(
  records: Iterable<RunRecord>,
  opts: {
    testFraction?: number;
    validFraction?: number;
    model?: ModelKind;
    timezone?: string;
    seed?: number;
    /** Score each repo with a model that never saw any of its runs (generalisation to new repositories). */
    unseenRepos?: boolean;
    /** Learner options (benchmarks and experiments); defaults are the product's. */
    train?: TrainOptions;
    /** The forward-validated shape search (gbdt only; default 'auto', see src/ml/tune.ts). Thresholds are per repo either way. */
    tune?: TuneMode;
    tuneBudgetMs?: number;
    tuneMaxRows?: number;
    /** Ablation: these columns are blanked (NaN) before training and scoring, as if the feature did not exist. */
    dropFeatures?: readonly FeatureName[];
    log?: (m: string) => void;
  } = {},
): Promise<BacktestResult> {
  const testFraction = opts.testFraction ?? 0.3;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error('--test-fraction must be between 0 and 1 (exclusive)');
  const frame = buildFrame(records, { timezone: opts.timezone });
  opts.log?.(`framed ${frame.n} finished runs`);
  for (const name of opts.dropFeatures ?? []) {
    const j = FEATURE_INDEX[name];
    for (let i = 0; i < frame.n; i++) frame.X[i * frame.d + j] = NaN;
  }
  const byRepo = new Map<string, number[]>();
  for (let i = 0; i < frame.n; i++) {
    let rows = byRepo.get(frame.repo[i]);
    if (!rows) byRepo.set(frame.repo[i], (rows = []));
    rows.push(i);
  }
  const train = new Map<string, number[]>();
  const valid = new Map<string, number[]>();
  const test = new Map<string, number[]>();
  const validFraction = opts.validFraction ?? 0.2;
  for (const [repo, rows] of byRepo) {
    const nTest = Math.round(rows.length * testFraction);
    const before = rows.slice(0, rows.length - nTest);
    const nValid = Math.round(before.length * validFraction);
    train.set(repo, before.slice(0, before.length - nValid));
    valid.set(repo, before.slice(before.length - nValid));
    if (nTest > 0) test.set(repo, rows.slice(rows.length - nTest));
  }
  const kind = opts.model ?? 'gbdt';
  let tuning: BacktestResult['tuning'];
  const fit = async (exclude?: string): Promise<{ model: RiskModel; thresholds: Record<string, number> }> => {
    const pick = (m: Map<string, number[]>) => [...m].filter(([r]) => r !== exclude).flatMap(([, rows]) => rows);
    const tr = pick(train);
    const vaRows = timeOrder(frame, pick(valid));
    const trainDs = takeRows(frame, timeOrder(frame, tr));
    const validDs = takeRows(frame, vaRows);
    const validRepos = Array.from(vaRows, (i) => frame.repo[i]);
    const trainOpts = { seed: opts.seed ?? 1, ...opts.train };
    let model: RiskModel;
    if (kind === 'gbdt' && searchesFor(opts.tune ?? 'auto', trainDs.n, opts.tuneMaxRows)) {
      const t = await tuneGbdt(trainDs, validDs, {
        ...trainOpts,
        validGroups: validRepos,
        budgetMs: opts.tuneBudgetMs,
      });
      model = t.model;
      tuning ??= { chosen: t.chosen, trials: t.trials, truncated: t.truncated };
      opts.log?.(
        `tuned gbdt over ${t.trials.length} settings: depth ${t.chosen.maxDepth}, rate ${t.chosen.learningRate}, leaf ${t.chosen.minDataInLeaf}, ${t.chosen.rounds} rounds`,
      );
    } else {
      model = await trainModel(kind, trainDs, validDs, trainOpts);
    }
    const thresholds =
      validDs.n > 0
        ? thresholdsByGroup(validDs.y, model.predictBatch(validDs.X, validDs.n), validRepos, model.threshold)
        : {};
    opts.log?.(
      `trained ${kind} on ${tr.length} rows (validation ${vaRows.length})${exclude ? ` without ${exclude}` : ''}`,
    );
    return { model, thresholds };
  };
  const shared = opts.unseenRepos ? null : await fit();

  const result: BacktestResult = {
    model: kind,
    threshold: shared?.model.threshold ?? NaN,
    thresholds: {},
    predictions: [],
    repos: [],
    mean: { f1: 0, pr_auc: 0, roc_auc: 0 },
    baselineMean: { f1: 0, pr_auc: 0, roc_auc: 0 },
    sliceMean: {
      after_success: { roc_auc: NaN, baseline_roc_auc: NaN },
      after_failure: { roc_auc: NaN, baseline_roc_auc: NaN },
    },
  };
  for (const [repo, rows] of test) {
    const { model, thresholds } = shared ?? (await fit(repo));
    // A repo scored by a model that never saw it (--unseen-repos) has no validation rows of its own.
    const threshold = thresholds[repo] ?? model.threshold;
    result.thresholds[repo] = threshold;
    const ds = takeRows(frame, rows);
    const p = model.predictBatch(ds.X, ds.n);
    for (let i = 0; i < rows.length; i++) {
      result.predictions.push({
        repo,
        run_id: frame.runId[rows[i]],
        probability: p[i],
        predicted_failure: p[i] >= threshold ? 1 : 0,
      });
    }
    const base = previousOutcome(frame, rows);
    result.repos.push({
      repo,
      test_runs: rows.length,
      failure_rate: mean(Array.from(ds.y)),
      threshold,
      f1: f1At(ds.y, p, threshold).f1,
      pr_auc: prAuc(ds.y, p),
      roc_auc: rocAuc(ds.y, p),
      baseline: { f1: f1At(ds.y, base, 0.5).f1, pr_auc: prAuc(ds.y, base), roc_auc: rocAuc(ds.y, base) },
      after_success: sliceScore(ds.y, p, base, threshold, (i) => base[i] === 0),
      after_failure: sliceScore(ds.y, p, base, threshold, (i) => base[i] === 1),
    });
  }
  result.repos.sort((a, b) => a.repo.localeCompare(b.repo));
  for (const k of ['f1', 'pr_auc', 'roc_auc'] as const) {
    result.mean[k] = mean(result.repos.map((r) => r[k]));
    result.baselineMean[k] = mean(result.repos.map((r) => r.baseline[k]));
  }
  for (const k of ['after_success', 'after_failure'] as const) {
    const defined = result.repos.map((r) => r[k]).filter((s) => !Number.isNaN(s.roc_auc));
    result.sliceMean[k] = {
      roc_auc: mean(defined.map((s) => s.roc_auc)),
      baseline_roc_auc: mean(defined.map((s) => s.baseline.roc_auc)),
    };
  }
  if (tuning) result.tuning = tuning;
  return result;
}

function sliceScore(
  y: Uint8Array,
  p: Float64Array,
  base: Float64Array,
  threshold: number,
  inSlice: (i: number) => boolean,
): SliceScore {
  const idx: number[] = [];
  for (let i = 0; i < y.length; i++) if (inSlice(i)) idx.push(i);
  const ys = Uint8Array.from(idx, (i) => y[i]);
  const ps = Float64Array.from(idx, (i) => p[i]);
  const bs = Float64Array.from(idx, (i) => base[i]);
  const failures = ys.reduce((a, b) => a + b, 0);
  const both = failures > 0 && failures < ys.length;
  const rates = (s: Float64Array, t: number) => {
    let tp = 0,
      fp = 0;
    for (let i = 0; i < ys.length; i++)
      if (s[i] >= t) {
        if (ys[i] === 1) tp++;
        else fp++;
      }
    return {
      recall: failures ? tp / failures : NaN,
      false_alarm_rate: ys.length - failures ? fp / (ys.length - failures) : NaN,
    };
  };
  return {
    runs: ys.length,
    failures,
    roc_auc: both ? rocAuc(ys, ps) : NaN,
    pr_auc: both ? prAuc(ys, ps) : NaN,
    ...rates(ps, threshold),
    baseline: { roc_auc: both ? rocAuc(ys, bs) : NaN, pr_auc: both ? prAuc(ys, bs) : NaN, ...rates(bs, 0.5) },
  };
}

/** "Ends like the last run": the last known outcome (unknown counts as success, as the reference baseline does). */
function previousOutcome(frame: Frame, rows: number[]): Float64Array {
  const j = FEATURE_INDEX.last_outcome;
  return Float64Array.from(rows, (r) => {
    const v = frame.X[r * frame.d + j];
    return Number.isNaN(v) ? 0 : v;
  });
}

export function backtestReport(r: BacktestResult): string {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(0) + '%');
  const table = (head: string[], rows: string[][]) => {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
    const line = (x: string[]) => x.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
    return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
  };
  const rows = r.repos.map((x) => [
    x.repo,
    String(x.test_runs),
    (100 * x.failure_rate).toFixed(1),
    f(x.threshold),
    f(x.f1),
    f(x.pr_auc),
    f(x.roc_auc),
    f(x.baseline.f1),
    f(x.baseline.pr_auc),
    f(x.baseline.roc_auc),
  ]);
  rows.push([
    'mean',
    String(r.predictions.length),
    '',
    '',
    f(r.mean.f1),
    f(r.mean.pr_auc),
    f(r.mean.roc_auc),
    f(r.baselineMean.f1),
    f(r.baselineMean.pr_auc),
    f(r.baselineMean.roc_auc),
  ]);
  // The slices: "ends like the last run" flags every run after a failure and none after a success, so its
  // value is all in repeated failures; first failures (after a success) are where a model earns its keep.
  const slice = (name: string, s: SliceScore) => [
    name,
    `${s.failures}/${s.runs}`,
    f(s.roc_auc),
    f(s.pr_auc),
    pct(s.recall),
    pct(s.false_alarm_rate),
    f(s.baseline.roc_auc),
    pct(s.baseline.recall),
    pct(s.baseline.false_alarm_rate),
  ];
  const slices = r.repos.flatMap((x) => [
    slice(`${x.repo} first failures`, x.after_success),
    slice(`${x.repo} repeated`, x.after_failure),
  ]);
  const t = r.tuning;
  return [
    ...table(['repo', 'runs', 'fail%', 'thresh', 'F1', 'PR-AUC', 'ROC-AUC', 'base F1', 'base PR', 'base ROC'], rows),
    '',
    ...table(
      [
        'slice (runs after a success / after a failure)',
        'fail/runs',
        'ROC-AUC',
        'PR-AUC',
        'recall',
        'false+',
        'base ROC',
        'base rec',
        'base f+',
      ],
      slices,
    ),
    '',
    `model ${r.model}, thresholds per repo from its validation slice (global ${f(r.threshold)}); vs previous-outcome baseline: F1 ${signed(r.mean.f1 - r.baselineMean.f1)}, PR-AUC ${signed(r.mean.pr_auc - r.baselineMean.pr_auc)}, ROC-AUC ${signed(r.mean.roc_auc - r.baselineMean.roc_auc)}`,
    `first-failure slice: mean ROC-AUC ${f(r.sliceMean.after_success.roc_auc)} (baseline ${f(r.sliceMean.after_success.baseline_roc_auc)}); repeated failures: ${f(r.sliceMean.after_failure.roc_auc)} (baseline ${f(r.sliceMean.after_failure.baseline_roc_auc)})`,
    ...(t
      ? [
          `tuned: depth ${t.chosen.maxDepth}, learning rate ${t.chosen.learningRate}, min leaf ${t.chosen.minDataInLeaf}, ${t.chosen.rounds} rounds (best of ${t.trials.length}${t.truncated ? ', time budget reached' : ''})`,
        ]
      : []),
  ].join('\n');
}

const signed = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(3);

export function predictionsCsv(r: BacktestResult): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return (
    [
      'repo,run_id,probability,predicted_failure',
      ...r.predictions.map((p) => `${esc(p.repo)},${esc(p.run_id)},${p.probability.toFixed(6)},${p.predicted_failure}`),
    ].join('\n') + '\n'
  );
}
