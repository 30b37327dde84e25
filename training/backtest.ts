import { buildFrame, type Frame } from '../src/features/frame.ts';
import { FEATURE_INDEX } from '../src/features/definition.ts';
import { f1At, prAuc, rocAuc } from '../src/ml/metrics.ts';
import type { ModelKind } from '../src/ml/model.ts';
import { trainModel, type TrainOptions } from '../src/ml/train.ts';
import type { RunRecord } from '../src/records/schema.ts';
import { takeRows, timeOrder } from './split.ts';

export interface RepoScore {
  repo: string;
  test_runs: number;
  failure_rate: number;
  f1: number;
  pr_auc: number;
  roc_auc: number;
  baseline: { f1: number; pr_auc: number; roc_auc: number };
}

export interface BacktestResult {
  model: ModelKind;
  threshold: number;
  predictions: { repo: string; run_id: string; probability: number; predicted_failure: 0 | 1 }[];
  repos: RepoScore[];
  mean: { f1: number; pr_auc: number; roc_auc: number };
  baselineMean: { f1: number; pr_auc: number; roc_auc: number };
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
    log?: (m: string) => void;
  } = {},
): Promise<BacktestResult> {
  const testFraction = opts.testFraction ?? 0.3;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error('--test-fraction must be between 0 and 1 (exclusive)');
  const frame = buildFrame(records, { timezone: opts.timezone });
  opts.log?.(`framed ${frame.n} finished runs`);
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
  const fit = async (exclude?: string) => {
    const pick = (m: Map<string, number[]>) => [...m].filter(([r]) => r !== exclude).flatMap(([, rows]) => rows);
    const tr = pick(train);
    const va = pick(valid);
    const model = await trainModel(kind, takeRows(frame, timeOrder(frame, tr)), takeRows(frame, timeOrder(frame, va)), { seed: opts.seed ?? 1, ...opts.train });
    opts.log?.(`trained ${kind} on ${tr.length} rows (validation ${va.length})${exclude ? ` without ${exclude}` : ''}`);
    return model;
  };
  const shared = opts.unseenRepos ? null : await fit();

  const result: BacktestResult = { model: kind, threshold: shared?.threshold ?? NaN, predictions: [], repos: [], mean: { f1: 0, pr_auc: 0, roc_auc: 0 }, baselineMean: { f1: 0, pr_auc: 0, roc_auc: 0 } };
  for (const [repo, rows] of test) {
    const model = shared ?? (await fit(repo));
    const ds = takeRows(frame, rows);
    const p = model.predictBatch(ds.X, ds.n);
    for (let i = 0; i < rows.length; i++) {
      result.predictions.push({ repo, run_id: frame.runId[rows[i]], probability: p[i], predicted_failure: p[i] >= model.threshold ? 1 : 0 });
    }
    const base = previousOutcome(frame, rows);
    result.repos.push({
      repo,
      test_runs: rows.length,
      failure_rate: mean(Array.from(ds.y)),
      f1: f1At(ds.y, p, model.threshold).f1,
      pr_auc: prAuc(ds.y, p),
      roc_auc: rocAuc(ds.y, p),
      baseline: { f1: f1At(ds.y, base, 0.5).f1, pr_auc: prAuc(ds.y, base), roc_auc: rocAuc(ds.y, base) },
    });
  }
  result.repos.sort((a, b) => a.repo.localeCompare(b.repo));
  for (const k of ['f1', 'pr_auc', 'roc_auc'] as const) {
    result.mean[k] = mean(result.repos.map((r) => r[k]));
    result.baselineMean[k] = mean(result.repos.map((r) => r.baseline[k]));
  }
  return result;
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
  const head = ['repo', 'runs', 'fail%', 'F1', 'PR-AUC', 'ROC-AUC', 'base F1', 'base PR', 'base ROC'];
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  const rows = r.repos.map((x) => [x.repo, String(x.test_runs), (100 * x.failure_rate).toFixed(1), f(x.f1), f(x.pr_auc), f(x.roc_auc), f(x.baseline.f1), f(x.baseline.pr_auc), f(x.baseline.roc_auc)]);
  rows.push(['mean', String(r.predictions.length), '', f(r.mean.f1), f(r.mean.pr_auc), f(r.mean.roc_auc), f(r.baselineMean.f1), f(r.baselineMean.pr_auc), f(r.baselineMean.roc_auc)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    '',
    `model ${r.model}, threshold ${r.threshold.toFixed(3)}; vs previous-outcome baseline: F1 ${signed(r.mean.f1 - r.baselineMean.f1)}, PR-AUC ${signed(r.mean.pr_auc - r.baselineMean.pr_auc)}, ROC-AUC ${signed(r.mean.roc_auc - r.baselineMean.roc_auc)}`,
  ].join('\n');
}

const signed = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(3);

export function predictionsCsv(r: BacktestResult): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return ['repo,run_id,probability,predicted_failure', ...r.predictions.map((p) => `${esc(p.repo)},${esc(p.run_id)},${p.probability.toFixed(6)},${p.predicted_failure}`)].join('\n') + '\n';
}
