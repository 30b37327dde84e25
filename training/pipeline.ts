import { buildFrame, type Frame } from '../src/features/frame.ts';
import { FEATURES } from '../src/features/definition.ts';
import { brier, f1At, prAuc, rocAuc } from '../src/ml/metrics.ts';
import type { ModelKind, RiskModel } from '../src/ml/model.ts';
import { trainModel } from '../src/ml/train.ts';
import { searchesFor, thresholdsByGroup, tuneGbdt, type TuneMode, type TuneTrial } from '../src/ml/tune.ts';
import { Registry, type Manifest } from '../src/registry/registry.ts';
import type { Store } from '../src/store/types.ts';
import { splitByTime, takeRows, timeOrder } from './split.ts';

export const ALL_KINDS: readonly ModelKind[] = ['gbdt', 'forest', 'mlp', 'baseline'];

export interface CandidateMetrics {
  roc_auc: number;
  pr_auc: number;
  f1: number;
  brier: number;
  train_ms: number;
  threshold: number;
}

export interface Candidate {
  kind: ModelKind;
  model: RiskModel;
  metrics: CandidateMetrics;
  /** F1 thresholds per repo chosen on the validation slice (the global `threshold` where a repo has few failures there). */
  thresholdsByRepo: Record<string, number>;
  /** The search's settings and trials (gbdt when tuning ran). */
  tuning?: { chosen: TuneTrial; trials: TuneTrial[]; truncated: boolean; budget_ms: number };
}

export interface TrainRun {
  candidates: Candidate[];
  best: Candidate;
  rows: { train: number; valid: number; holdout: number };
  dataRange: { from: string | null; to: string | null; rows: number };
}

/** Scores a model on rows of a frame with the metrics the registry compares. */
export function evaluate(model: RiskModel, frame: Frame, rows: ArrayLike<number>): Omit<CandidateMetrics, 'train_ms'> {
  const ds = takeRows(frame, rows);
  const p = model.predictBatch(ds.X, ds.n);
  return {
    roc_auc: rocAuc(ds.y, p),
    pr_auc: prAuc(ds.y, p),
    f1: f1At(ds.y, p, model.threshold).f1,
    brier: brier(ds.y, p),
    threshold: model.threshold,
  };
}

/**
 * Trains every candidate on the oldest rows, tunes (early stopping, calibration, threshold) on the next slice,
 * and compares them on the most recent holdout — forward in time, as they will be used.
 */
export async function trainCandidates(
  frame: Frame,
  opts: {
    kinds?: readonly ModelKind[];
    validFraction?: number;
    holdoutFraction?: number;
    seed?: number;
    threads?: number;
    log?: (m: string) => void;
    /** Forward-validated search of the gbdt's shape (src/ml/tune.ts) within `tuneBudgetMs` (default 60 s); default off. */
    tune?: TuneMode;
    tuneBudgetMs?: number;
    tuneMaxRows?: number;
  } = {},
): Promise<TrainRun> {
  if (frame.n < 50)
    throw new Error(
      `not enough finished runs to train on (${frame.n}; need at least 50 with a success or failure outcome)`,
    );
  const order = timeOrder(frame);
  const { train, valid, holdout } = splitByTime(order, opts.validFraction ?? 0.15, opts.holdoutFraction ?? 0.15);
  const trainDs = takeRows(frame, train);
  const validDs = takeRows(frame, valid);
  const validRepos = Array.from(valid, (i) => frame.repo[i]);
  const candidates: Candidate[] = [];
  for (const kind of opts.kinds ?? ALL_KINDS) {
    const t0 = performance.now();
    let model: RiskModel;
    let tuning: Candidate['tuning'];
    if (kind === 'gbdt' && searchesFor(opts.tune ?? false, trainDs.n, opts.tuneMaxRows)) {
      const budget_ms = opts.tuneBudgetMs ?? 60_000;
      const t = await tuneGbdt(trainDs, validDs, {
        seed: opts.seed ?? 1,
        threads: opts.threads,
        validGroups: validRepos,
        budgetMs: budget_ms,
      });
      model = t.model;
      tuning = { chosen: t.chosen, trials: t.trials, truncated: t.truncated, budget_ms };
      opts.log?.(
        `gbdt tuned over ${t.trials.length} settings: depth ${t.chosen.maxDepth}, learning rate ${t.chosen.learningRate}, min leaf ${t.chosen.minDataInLeaf}, ${t.chosen.rounds} rounds`,
      );
    } else {
      model = await trainModel(kind, trainDs, validDs, { seed: opts.seed ?? 1, threads: opts.threads });
    }
    const train_ms = performance.now() - t0;
    const metrics = { ...evaluate(model, frame, holdout), train_ms };
    const thresholdsByRepo =
      validDs.n > 0
        ? thresholdsByGroup(validDs.y, model.predictBatch(validDs.X, validDs.n), validRepos, model.threshold)
        : {};
    opts.log?.(`${kind}: PR-AUC ${metrics.pr_auc.toFixed(3)} in ${(train_ms / 1000).toFixed(1)} s`);
    candidates.push({ kind, model, metrics, thresholdsByRepo, ...(tuning ? { tuning } : {}) });
  }
  const best = candidates.reduce((a, b) => (score(b) > score(a) ? b : a));
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    candidates,
    best,
    rows: { train: train.length, valid: valid.length, holdout: holdout.length },
    dataRange: {
      from: frame.n ? iso(frame.createdMs[order[0]]) : null,
      to: frame.n ? iso(frame.createdMs[order[order.length - 1]]) : null,
      rows: frame.n,
    },
  };
}

const score = (c: Candidate) => (Number.isNaN(c.metrics.pr_auc) ? -1 : c.metrics.pr_auc);

export function comparisonTable(run: TrainRun): string {
  const head = ['model', 'ROC-AUC', 'PR-AUC', 'F1(fail)', 'Brier', 'train s'];
  const rows = run.candidates.map((c) => [
    c.kind + (c === run.best ? ' *' : ''),
    c.metrics.roc_auc.toFixed(3),
    c.metrics.pr_auc.toFixed(3),
    c.metrics.f1.toFixed(3),
    c.metrics.brier.toFixed(4),
    (c.metrics.train_ms / 1000).toFixed(2),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** Registers a candidate with everything needed to audit it later. */
export function registerCandidate(
  registry: Registry,
  run: TrainRun,
  c: Candidate,
  status: Manifest['status'],
  decision?: Record<string, unknown>,
): Manifest {
  return registry.register({
    kind: c.kind,
    features: [...FEATURES],
    data_range: run.dataRange,
    threshold: c.model.threshold,
    status,
    metrics: { ...c.metrics, holdout_rows: run.rows.holdout, train_rows: run.rows.train, valid_rows: run.rows.valid },
    decision: {
      ...decision,
      comparison: run.candidates.map((x) => ({ kind: x.kind, ...x.metrics })),
      thresholds_by_repo: c.thresholdsByRepo,
      ...(c.tuning ? { tuning: c.tuning } : {}),
    },
    artifact: c.model.toJSON(),
  });
}

export interface TrainOptions {
  store: Store;
  modelsDir: string;
  repo?: string;
  until?: string;
  timezone?: string;
  kinds?: readonly ModelKind[];
  /** Make the best candidate the champion right away (first model, CLI default); otherwise it is a challenger. */
  promote?: boolean;
  /** Search the gbdt's shape by forward validation: default 'auto', only on small training sets (src/ml/tune.ts says why). */
  tune?: TuneMode;
  tuneBudgetMs?: number;
  log?: (m: string) => void;
}

/** `riskgate train`: frame the stored history, train all candidates, register the best. */
export async function trainFromStore(o: TrainOptions): Promise<{ run: TrainRun; manifest: Manifest }> {
  const frame = buildFrame(o.store.iterateRuns({ repo: o.repo, until: o.until }), { timezone: o.timezone });
  o.log?.(`framed ${frame.n} finished runs with ${frame.d} features`);
  const run = await trainCandidates(frame, {
    kinds: o.kinds,
    log: o.log,
    tune: o.tune ?? 'auto',
    tuneBudgetMs: o.tuneBudgetMs,
  });
  const registry = new Registry(o.modelsDir);
  const manifest = registerCandidate(registry, run, run.best, 'challenger', { reason: 'best PR-AUC on the holdout' });
  if (o.promote ?? true) registry.setChampion(manifest.id);
  o.store.putModel({
    id: manifest.id,
    kind: manifest.kind,
    status: (o.promote ?? true) ? 'champion' : 'challenger',
    created_at: manifest.created_at,
    metrics: manifest.metrics,
    data_range: manifest.data_range,
  });
  return { run, manifest: registry.manifest(manifest.id)! };
}
