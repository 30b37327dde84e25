/**
 * The model page's figures. The manifest keeps only summary metrics, so the curves are recomputed: the
 * champion scores the newest 15 % of stored history (time-ordered, as in training's holdout). That is
 * seconds of work on a large store, hence one cached result per champion id.
 */
import { buildFrame } from '../features/frame.ts';
import { calibrationBins, confusion, prAuc, prCurve, rocAuc, rocCurve } from '../ml/metrics.ts';
import { loadModel } from '../ml/model.ts';
import type { Manifest, Registry } from '../registry/registry.ts';
import type { Store } from '../store/types.ts';
import { splitByTime, takeRows, timeOrder } from '../../training/split.ts';

export const EVAL_FRACTION = 0.15;
const CURVE_POINTS = 120;

export interface ModelEvaluation {
  id: string;
  rows: number;
  positives: number;
  from: string | null;
  to: string | null;
  threshold: number | null;
  roc: { fpr: number[]; tpr: number[]; auc: number | null };
  pr: { recall: number[]; precision: number[]; auc: number | null; base_rate: number | null };
  calibration: { mean_predicted: number[]; observed: number[]; count: number[] };
  confusion: { tp: number; fp: number; tn: number; fn: number } | null;
  importance: { feature: string; gain: number }[];
  computed_ms: number;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export async function evaluateModel(
  store: Store,
  registry: Registry,
  manifest: Manifest,
  timezone = 'UTC',
): Promise<ModelEvaluation> {
  const t0 = performance.now();
  const { artifact } = registry.readArtifact(manifest.id);
  const model = await loadModel(artifact);
  const frame = buildFrame(store.iterateRuns(), { timezone });
  const { holdout } = splitByTime(timeOrder(frame), 0, EVAL_FRACTION);
  const ds = takeRows(frame, holdout);
  const p = model.predictBatch(ds.X, ds.n);
  let positives = 0;
  for (let i = 0; i < ds.n; i++) positives += ds.y[i];
  const iso = (ms: number) => new Date(ms).toISOString();
  const importance = model
    .importance()
    .filter((f) => Number.isFinite(f.gain) && f.gain > 0)
    .sort((a, b) => b.gain - a.gain)
    .slice(0, 15);
  const hasBoth = positives > 0 && positives < ds.n;
  return {
    id: manifest.id,
    rows: ds.n,
    positives,
    from: holdout.length ? iso(frame.createdMs[holdout[0]]) : null,
    to: holdout.length ? iso(frame.createdMs[holdout[holdout.length - 1]]) : null,
    threshold: finite(model.threshold),
    roc: { ...rocCurve(ds.y, p, CURVE_POINTS), auc: hasBoth ? finite(rocAuc(ds.y, p)) : null },
    pr: {
      ...prCurve(ds.y, p, CURVE_POINTS),
      auc: positives > 0 ? finite(prAuc(ds.y, p)) : null,
      base_rate: ds.n ? positives / ds.n : null,
    },
    calibration: calibrationBins(ds.y, p, 10),
    // An "never alarm" threshold (Infinity) has no confusion matrix worth drawing.
    confusion: ds.n && Number.isFinite(model.threshold) ? confusion(ds.y, p, model.threshold) : null,
    importance,
    computed_ms: Math.round(performance.now() - t0),
  };
}

/** Caches one evaluation per champion id; a concurrent second request waits for the first computation. */
export class EvaluationCache {
  private entry: { id: string; value: Promise<ModelEvaluation> } | undefined;

  get(id: string, compute: () => Promise<ModelEvaluation>): Promise<ModelEvaluation> {
    if (this.entry?.id === id) return this.entry.value;
    const value = compute();
    this.entry = { id, value };
    // A failed evaluation is not cached: the next request tries again (the store may have been busy).
    value.catch(() => {
      if (this.entry?.value === value) this.entry = undefined;
    });
    return value;
  }
}
