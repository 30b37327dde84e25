/**
 * "The next run ends like the last one": failure rate conditioned on the `last_outcome` feature
 * (1 failed, 0 succeeded, NaN unknown), with add-one smoothing; unknown falls back to the base rate.
 */
import { calibrateInPlace, type Calibrator } from './calibration.ts';
import type { Dataset } from './dataset.ts';
import {
  checkBatch,
  checkRow,
  headerJSON,
  ModelFormatError,
  type CalibratableModel,
  type Explanation,
  type RiskModel,
  type parseHeader,
} from './model-format.ts';

export const BASELINE_FEATURE = 'last_outcome';

export class BaselineModel implements CalibratableModel {
  readonly kind = 'baseline' as const;
  private col: number;

  constructor(
    readonly featureNames: string[],
    /** Failure rate after a failure, after a success, and overall (used when unknown). */
    readonly rates: { after_failure: number; after_success: number; base: number },
    readonly calibrator: Calibrator,
    readonly threshold: number,
  ) {
    this.col = featureNames.indexOf(BASELINE_FEATURE);
    if (this.col < 0) throw new RangeError(`baseline: feature "${BASELINE_FEATURE}" not among featureNames`);
  }

  raw(row: ArrayLike<number>): number {
    const v = row[this.col];
    return v === 1 ? this.rates.after_failure : v === 0 ? this.rates.after_success : this.rates.base;
  }

  predict(row: ArrayLike<number>): number {
    checkRow(row, this.featureNames.length);
    return this.calibrator.apply(this.raw(row));
  }

  uncalibratedBatch(X: Float32Array, n: number): Float64Array {
    const d = this.featureNames.length;
    checkBatch(X, n, d);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.raw(X.subarray(i * d, (i + 1) * d));
    return out;
  }

  predictBatch(X: Float32Array, n: number): Float64Array {
    return calibrateInPlace(this.calibrator, this.uncalibratedBatch(X, n));
  }

  /** Exact: the only input is last_outcome, so it carries the whole deviation from the base rate. */
  explain(row: ArrayLike<number>): Explanation {
    checkRow(row, this.featureNames.length);
    const r = this.raw(row);
    return {
      base: this.rates.base,
      method: 'exact',
      space: 'probability',
      additive: true,
      contributions: this.featureNames.map((feature, f) => ({
        feature,
        value: row[f],
        contribution: f === this.col ? r - this.rates.base : 0,
      })),
    };
  }

  importance(): { feature: string; gain: number }[] {
    const spread = Math.abs(this.rates.after_failure - this.rates.after_success);
    return this.featureNames
      .map((feature, f) => ({ feature, gain: f === this.col ? spread : 0 }))
      .sort((a, b) => b.gain - a.gain);
  }

  withCalibration(cal: Calibrator, threshold: number): RiskModel {
    return new BaselineModel(this.featureNames, this.rates, cal, threshold);
  }

  toJSON(): unknown {
    return { ...headerJSON('baseline', this.featureNames, this.threshold, this.calibrator), rates: { ...this.rates } };
  }
}

export function fitBaseline(train: Dataset, identity: Calibrator): BaselineModel {
  const col = train.featureNames.indexOf(BASELINE_FEATURE);
  if (col < 0) throw new RangeError(`baseline: training data has no "${BASELINE_FEATURE}" feature`);
  let nf = 0,
    ff = 0,
    ns = 0,
    fs = 0,
    all = 0;
  for (let i = 0; i < train.n; i++) {
    const v = train.X[i * train.d + col],
      y = train.y[i];
    all += y;
    if (v === 1) {
      nf++;
      ff += y;
    } else if (v === 0) {
      ns++;
      fs += y;
    }
  }
  const base = (all + 1) / (train.n + 2);
  return new BaselineModel(
    train.featureNames,
    { after_failure: (ff + base) / (nf + 1), after_success: (fs + base) / (ns + 1), base },
    identity,
    0.5,
  );
}

export function baselineFromJSON(parsed: ReturnType<typeof parseHeader>): RiskModel {
  const r = parsed.obj.rates as Record<string, unknown> | undefined;
  for (const k of ['after_failure', 'after_success', 'base']) {
    const v = r?.[k];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1))
      throw new ModelFormatError(`rates.${k}: expected a probability in [0,1]`);
  }
  return new BaselineModel(
    parsed.header.featureNames,
    r as BaselineModel['rates'],
    parsed.calibrator,
    parsed.header.threshold,
  );
}
