/** RiskModel over a tree ensemble: GBDT (sigmoid of summed margins) or forest (mean leaf rate). */
import { type Calibrator, calibrateInPlace } from './calibration.ts';
import {
  checkBatch,
  checkRow,
  headerJSON,
  ModelFormatError,
  type Attribution,
  type CalibratableModel,
  type ExplainOptions,
  type Explanation,
  type RiskModel,
  type parseHeader,
} from './model-format.ts';
import { expectedValue, type FlatTree } from './tree.ts';
import { PackedEnsemble } from './tree-ensemble.ts';
import { treeFromJSON, treeToJSON } from './tree-format.ts';
import { ShapTable, treeShap } from './tree-shap.ts';

export type { CalibratableModel } from './model-format.ts';

export class TreeModel implements CalibratableModel {
  readonly d: number;
  private packed: PackedEnsemble;
  private scale: number;
  private isGbdt: boolean;
  private shap: { tables: (ShapTable | null)[]; base: number } | undefined;

  constructor(
    readonly kind: 'gbdt' | 'forest',
    readonly featureNames: string[],
    readonly trees: FlatTree[],
    readonly baseScore: number,
    readonly calibrator: Calibrator,
    readonly threshold: number,
    readonly meta: Record<string, unknown> = {},
  ) {
    if (trees.length === 0) throw new RangeError('TreeModel: no trees');
    this.d = featureNames.length;
    this.packed = new PackedEnsemble(trees);
    this.isGbdt = kind === 'gbdt';
    this.scale = this.isGbdt ? 1 : 1 / trees.length;
  }

  raw(row: ArrayLike<number>): number {
    return this.baseScore + this.scale * this.packed.sum(row);
  }

  private uncal(raw: number): number {
    return this.isGbdt ? 1 / (1 + Math.exp(-raw)) : raw;
  }

  predict(row: ArrayLike<number>): number {
    checkRow(row, this.d);
    return this.calibrator.apply(this.uncal(this.baseScore + this.scale * this.packed.sum(row)));
  }

  uncalibratedBatch(X: Float32Array, n: number): Float64Array {
    checkBatch(X, n, this.d);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uncal(this.baseScore + this.scale * this.packed.sumAt(X, i * this.d));
    return out;
  }

  predictBatch(X: Float32Array, n: number): Float64Array {
    return calibrateInPlace(this.calibrator, this.uncalibratedBatch(X, n));
  }

  explain(row: ArrayLike<number>, opts: ExplainOptions = {}): Explanation {
    checkRow(row, this.d);
    const phi = new Float64Array(this.d);
    const method = opts.method ?? 'path';
    let base: number;
    if (method === 'path') {
      this.packed.pathContributions(row, phi);
      base = this.baseScore + this.scale * this.packed.expectedSum();
    } else {
      const shap = this.prepareShap();
      base = shap.base;
      for (let i = 0; i < this.trees.length; i++) {
        const table = shap.tables[i];
        if (table) table.addTo(row, phi);
        else treeShap(this.trees[i], row, phi);
      }
    }
    return {
      base,
      method,
      space: this.isGbdt ? 'log-odds' : 'probability',
      additive: true,
      contributions: this.featureNames.map((feature, f) => ({
        feature,
        value: row[f],
        contribution: phi[f] * this.scale,
      })),
    };
  }

  prepareExplain(method: Attribution): void {
    if (method === 'treeshap') this.prepareShap();
  }

  /** TreeSHAP's per-leaf tables: built on demand, so training and batch scoring never pay for them. */
  private prepareShap(): { tables: (ShapTable | null)[]; base: number } {
    if (!this.shap) {
      let base = this.baseScore;
      for (const t of this.trees) base += this.scale * expectedValue(t);
      this.shap = { tables: this.trees.map((t) => ShapTable.build(t)), base };
    }
    return this.shap;
  }

  importance(): { feature: string; gain: number }[] {
    const gain = new Float64Array(this.d);
    for (const t of this.trees)
      for (let i = 0; i < t.feature.length; i++) if (t.feature[i] >= 0) gain[t.feature[i]] += t.gain[i];
    return this.featureNames.map((feature, f) => ({ feature, gain: gain[f] })).sort((a, b) => b.gain - a.gain);
  }

  withCalibration(cal: Calibrator, threshold: number): RiskModel {
    return new TreeModel(this.kind, this.featureNames, this.trees, this.baseScore, cal, threshold, this.meta);
  }

  toJSON(): unknown {
    return {
      ...headerJSON(this.kind, this.featureNames, this.threshold, this.calibrator),
      base_score: this.baseScore,
      meta: this.meta,
      trees: this.trees.map(treeToJSON),
    };
  }
}

export function treeModelFromJSON(parsed: ReturnType<typeof parseHeader>): RiskModel {
  const { header, calibrator, obj } = parsed;
  if (typeof obj.base_score !== 'number' || !Number.isFinite(obj.base_score))
    throw new ModelFormatError('base_score: expected a finite number');
  if (!Array.isArray(obj.trees) || obj.trees.length === 0)
    throw new ModelFormatError('trees: expected a non-empty array');
  const d = header.featureNames.length;
  const trees = obj.trees.map((t, i) => treeFromJSON(t, d, `trees[${i}]`));
  const meta = obj.meta && typeof obj.meta === 'object' ? (obj.meta as Record<string, unknown>) : {};
  return new TreeModel(
    header.kind as 'gbdt' | 'forest',
    header.featureNames,
    trees,
    obj.base_score,
    calibrator,
    header.threshold,
    meta,
  );
}
