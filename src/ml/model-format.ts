/**
 * The model contract stored by the registry and used by the scoring service, plus loadModel.
 *
 * Explanation units (Contribution.contribution), per kind — always the model's *raw* score before
 * calibration, so they add up exactly where the method allows it:
 * - gbdt: log-odds margin (path attribution by default, TreeSHAP on request; either way base + Σ
 *   contributions = margin exactly)
 * - forest: uncalibrated probability = mean leaf failure rate (path attribution or TreeSHAP; additive exactly)
 * - baseline: uncalibrated probability (single feature; additive exactly)
 * - mlp: uncalibrated probability by occlusion (feature reset to its training mean / "not missing");
 *   NOT additive — base + Σ contributions only approximates the score.
 * `space` in the explain result names the unit.
 *
 * Kept apart from loadModel (model.ts), which imports every kind's module: the kinds import this one, so
 * the contract must not import them back (an import cycle makes module initialisation order a source of bugs).
 */
import { calibratorFromJSON, type Calibrator } from './calibration.ts';

export type ModelKind = 'gbdt' | 'forest' | 'mlp' | 'baseline';
export const MODEL_KINDS: readonly ModelKind[] = ['gbdt', 'forest', 'mlp', 'baseline'];
export const MODEL_FORMAT = 'riskgate-model';
export const MODEL_VERSION = 1;

export interface Contribution {
  feature: string;
  value: number;
  contribution: number; // signed; unit given by Explanation.space (see module comment)
}

/**
 * How tree models attribute a score to features. `path` (Saabas) credits each split on the decision path
 * with the change in expected value it causes: one path per tree, as cheap as the prediction. `treeshap`
 * gives the Shapley values (consistent, order-independent credit) at the cost of visiting every leaf.
 */
export type Attribution = 'path' | 'treeshap';
export const ATTRIBUTIONS: readonly Attribution[] = ['path', 'treeshap'];

export interface ExplainOptions {
  /** Tree models only (default `path`); other kinds have one method. */
  method?: Attribution;
}

export interface Explanation {
  base: number;
  /** The attribution method that produced the contributions. */
  method: Attribution | 'occlusion' | 'exact';
  contributions: Contribution[];
  space: 'log-odds' | 'probability';
  additive: boolean; // true when base + Σ contributions equals the raw score exactly
}

export interface RiskModel {
  kind: ModelKind;
  featureNames: string[];
  threshold: number; // F1-optimal decision threshold on validation, in calibrated probability space
  predict(row: ArrayLike<number>): number; // calibrated failure probability in [0,1]
  predictBatch(X: Float32Array, n: number): Float64Array;
  /** Uncalibrated score in the explanation's space (margin for gbdt, probability otherwise). */
  raw(row: ArrayLike<number>): number;
  explain(row: ArrayLike<number>, opts?: ExplainOptions): Explanation;
  /** Builds what explanations by `method` need ahead of the first request (hot swap, load). */
  prepareExplain?(method: Attribution): void;
  importance(): { feature: string; gain: number }[];
  toJSON(): unknown;
}

/** A model before calibration, as the trainers produce it: train.ts fits the calibrator and threshold on it. */
export interface CalibratableModel extends RiskModel {
  /** Uncalibrated failure probability per row, the calibrator's input. */
  uncalibratedBatch(X: Float32Array, n: number): Float64Array;
  withCalibration(cal: Calibrator, threshold: number): RiskModel;
}

/** Common header of every serialised model. */
export interface ModelHeader {
  format: typeof MODEL_FORMAT;
  version: number;
  kind: ModelKind;
  featureNames: string[];
  threshold: number;
  calibrator: unknown;
}

export class ModelFormatError extends TypeError {
  constructor(message: string) {
    super(`invalid model JSON: ${message}`);
    this.name = 'ModelFormatError';
  }
}

/** Checks the header and returns it with the parsed calibrator; errors carry the JSON path. */
export function parseHeader(json: unknown): {
  header: ModelHeader;
  calibrator: Calibrator;
  obj: Record<string, unknown>;
} {
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new ModelFormatError(`(root): not parseable JSON (${(e as Error).message})`);
    }
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new ModelFormatError('(root): expected an object');
  const o = json as Record<string, unknown>;
  if (o.format !== MODEL_FORMAT)
    throw new ModelFormatError(`format: expected "${MODEL_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== MODEL_VERSION)
    throw new ModelFormatError(`version: unsupported ${JSON.stringify(o.version)} (expected ${MODEL_VERSION})`);
  if (!MODEL_KINDS.includes(o.kind as ModelKind))
    throw new ModelFormatError(`kind: expected one of ${MODEL_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  if (
    !Array.isArray(o.featureNames) ||
    o.featureNames.length === 0 ||
    !o.featureNames.every((s) => typeof s === 'string')
  ) {
    throw new ModelFormatError('featureNames: expected a non-empty array of strings');
  }
  if (typeof o.threshold !== 'number' || Number.isNaN(o.threshold)) {
    // Infinity ("never alarm") is legal but JSON turns it into null.
    if (o.threshold !== null) throw new ModelFormatError('threshold: expected a number');
  }
  let calibrator: Calibrator;
  try {
    calibrator = calibratorFromJSON(o.calibrator);
  } catch (e) {
    throw new ModelFormatError((e as Error).message);
  }
  const header = {
    ...(o as unknown as ModelHeader),
    threshold: o.threshold === null ? Infinity : (o.threshold as number),
  };
  return { header, calibrator, obj: o };
}

export function headerJSON(
  kind: ModelKind,
  featureNames: string[],
  threshold: number,
  calibrator: Calibrator,
): Record<string, unknown> {
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    kind,
    featureNames: [...featureNames],
    threshold: Number.isFinite(threshold) ? threshold : null,
    calibrator: calibrator.toJSON(),
  };
}

/** Shared by every kind: row length check so a wrong feature vector fails loudly, not silently. */
export function checkRow(row: ArrayLike<number>, d: number): void {
  if (!row || row.length !== d) throw new RangeError(`row: expected ${d} features, got ${row ? row.length : 'none'}`);
}

export function checkBatch(X: Float32Array, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 0 || X.length !== n * d)
    throw new RangeError(`X: expected n*d = ${n}*${d} values, got ${X.length}`);
}
