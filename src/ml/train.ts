/**
 * One entry point per candidate: fit on `train`, then use the later `valid` slice for early stopping,
 * calibration and the F1-optimal threshold. Rows are never shuffled across time here.
 */
import { fitCalibrator, calibratorFromJSON } from './calibration.ts';
import { validateDataset, type Dataset } from './dataset.ts';
import { trainForest, type ForestParams } from './forest.ts';
import { trainGbdt, type GbdtParams } from './gbdt.ts';
import { bestF1Threshold } from './metrics.ts';
import type { ModelKind, RiskModel } from './model.ts';
import { TreeModel, type CalibratableModel } from './tree-model.ts';
import type { ClassWeight } from './weights.ts';

export interface TrainOptions {
  seed?: number;
  classWeight?: ClassWeight;
  /** Boosting rounds (gbdt), trees (forest) or epochs (mlp). */
  maxRounds?: number;
  timeBudgetMs?: number;
  calibration?: 'isotonic' | 'platt' | 'auto';
  /** Histogram threads of the tree learners (default: `autoThreads`). */
  threads?: number;
  gbdt?: Partial<GbdtParams>;
  forest?: Partial<ForestParams>;
  mlp?: Partial<import('./mlp.ts').MlpParams>;
}

/** Drops undefined entries so they don't override learner defaults when spread. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const IDENTITY = () => calibratorFromJSON({ kind: 'identity' });

export async function trainModel(
  kind: ModelKind,
  train: Dataset,
  valid: Dataset,
  opts: TrainOptions = {},
): Promise<RiskModel> {
  validateDataset(train, 'train');
  validateDataset(valid, 'valid');
  if (train.n === 0) throw new RangeError('train: no rows');
  if (valid.d !== train.d || valid.featureNames.some((f, i) => f !== train.featureNames[i])) {
    throw new RangeError('valid.featureNames: must match train.featureNames (same features in the same order)');
  }
  const seed = opts.seed ?? 1;
  let core: CalibratableModel;
  switch (kind) {
    case 'gbdt': {
      const r = trainGbdt(
        train,
        valid.n > 0 ? valid : undefined,
        defined({
          seed,
          classWeight: opts.classWeight,
          timeBudgetMs: opts.timeBudgetMs,
          maxRounds: opts.maxRounds,
          threads: opts.threads,
          ...opts.gbdt,
        }),
      );
      core = new TreeModel('gbdt', train.featureNames, r.trees, r.baseScore, IDENTITY(), 0.5, {
        best_iteration: r.bestIteration,
        rounds_run: r.roundsRun,
        stopped_early: r.stoppedEarly,
      });
      break;
    }
    case 'forest': {
      const r = trainForest(
        train,
        defined({
          seed,
          classWeight: opts.classWeight,
          timeBudgetMs: opts.timeBudgetMs,
          nTrees: opts.maxRounds,
          threads: opts.threads,
          ...opts.forest,
        }),
      );
      core = new TreeModel('forest', train.featureNames, r.trees, 0, IDENTITY(), 0.5, { trees: r.trees.length });
      break;
    }
    case 'baseline': {
      const { fitBaseline } = await import('./baseline.ts');
      core = fitBaseline(train, IDENTITY());
      break;
    }
    case 'mlp': {
      const { trainMlp } = await import('./mlp.ts');
      core = await trainMlp(
        train,
        valid,
        defined({
          seed,
          classWeight: opts.classWeight,
          timeBudgetMs: opts.timeBudgetMs,
          epochs: opts.maxRounds,
          ...opts.mlp,
        }),
        IDENTITY(),
      );
      break;
    }
    default:
      throw new RangeError(`kind: expected gbdt | forest | mlp | baseline, got ${JSON.stringify(kind)}`);
  }
  return calibrate(core, valid, opts.calibration ?? 'auto');
}

/** Calibrator and F1 threshold both come from the validation slice; without one they stay neutral. */
export function calibrate(core: CalibratableModel, valid: Dataset, kind: 'isotonic' | 'platt' | 'auto'): RiskModel {
  if (valid.n === 0) return core.withCalibration(IDENTITY(), 0.5);
  const s = core.uncalibratedBatch(valid.X, valid.n);
  const cal = fitCalibrator(s, valid.y, kind);
  const p = s.map((v) => cal.apply(v));
  const { threshold } = bestF1Threshold(valid.y, p);
  return core.withCalibration(cal, threshold);
}
