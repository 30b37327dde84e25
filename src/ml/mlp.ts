/**
 * Small MLP trained with TensorFlow.js. Inputs: features standardised (column mean and population standard deviation)
 * (missing values → 0 after scaling, i.e. the mean) plus one missing-indicator column per feature
 * that had missing values in training. After training the weights are copied out and inference runs
 * in plain JS: it is fast per row, needs no tfjs at scoring time, and round-trips exactly via JSON.
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
import { seededRandom } from './random.ts';
import { loadTf } from './tf-backend.ts';
import type { ClassWeight } from './weights.ts';

export interface MlpParams {
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number; // early-stopping epochs without validation-loss improvement
  maxRows: number; // training subsample cap
  seed: number;
  classWeight?: ClassWeight;
  timeBudgetMs?: number;
}

export const MLP_DEFAULTS: MlpParams = {
  hidden: [32, 16],
  epochs: 40,
  batchSize: 256,
  learningRate: 3e-3,
  patience: 5,
  maxRows: 100_000,
  seed: 1,
  timeBudgetMs: 90_000,
};

interface Layer {
  nIn: number;
  nOut: number;
  W: Float32Array; // nIn*nOut, row-major [in][out] (tfjs kernel layout)
  b: Float32Array;
  activation: 'relu' | 'sigmoid';
}

interface Prep {
  mean: Float64Array;
  std: Float64Array;
  missingCols: Int32Array; // features that get an indicator column, in order
}

const b64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function fromB64(s: unknown, len: number, where: string): Float32Array {
  if (typeof s !== 'string') throw new ModelFormatError(`${where}: expected a base64 string`);
  const buf = Buffer.from(s, 'base64');
  if (buf.byteLength !== len * 4)
    throw new ModelFormatError(
      `${where}: expected ${len} float32 values (${len * 4} bytes), got ${buf.byteLength} bytes`,
    );
  const out = new Float32Array(len);
  new Uint8Array(out.buffer).set(buf);
  for (let i = 0; i < len; i++) if (!Number.isFinite(out[i])) throw new ModelFormatError(`${where}[${i}]: not finite`);
  return out;
}

export class MlpModel implements CalibratableModel {
  readonly kind = 'mlp' as const;
  private d: number;
  private nIn: number;
  private buf: Float64Array[];

  constructor(
    readonly featureNames: string[],
    private prep: Prep,
    private layers: Layer[],
    readonly calibrator: Calibrator,
    readonly threshold: number,
    readonly meta: Record<string, unknown> = {},
  ) {
    this.d = featureNames.length;
    this.nIn = this.d + prep.missingCols.length;
    this.buf = [new Float64Array(this.nIn), ...layers.map((l) => new Float64Array(l.nOut))];
  }

  /** Fills the encoded input vector; `skip` resets one feature to the reference (mean, not missing). */
  private encode(row: ArrayLike<number>, skip = -1): void {
    const x = this.buf[0],
      { mean, std, missingCols } = this.prep;
    for (let f = 0; f < this.d; f++) {
      const v = row[f];
      x[f] = f === skip || v !== v ? 0 : (v - mean[f]) / std[f];
    }
    for (let k = 0; k < missingCols.length; k++) {
      const f = missingCols[k];
      x[this.d + k] = f !== skip && row[f] !== row[f] ? 1 : 0;
    }
  }

  private forward(): number {
    for (let li = 0; li < this.layers.length; li++) {
      const { nIn, nOut, W, b, activation } = this.layers[li];
      const inp = this.buf[li],
        out = this.buf[li + 1];
      for (let j = 0; j < nOut; j++) out[j] = b[j];
      for (let i = 0; i < nIn; i++) {
        const xi = inp[i];
        if (xi === 0) continue;
        const o = i * nOut;
        for (let j = 0; j < nOut; j++) out[j] += xi * W[o + j];
      }
      for (let j = 0; j < nOut; j++)
        out[j] = activation === 'relu' ? (out[j] > 0 ? out[j] : 0) : 1 / (1 + Math.exp(-out[j]));
    }
    return this.buf[this.layers.length][0];
  }

  raw(row: ArrayLike<number>): number {
    this.encode(row);
    return this.forward();
  }

  predict(row: ArrayLike<number>): number {
    checkRow(row, this.d);
    return this.calibrator.apply(this.raw(row));
  }

  uncalibratedBatch(X: Float32Array, n: number): Float64Array {
    checkBatch(X, n, this.d);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.raw(X.subarray(i * this.d, (i + 1) * this.d));
    return out;
  }

  predictBatch(X: Float32Array, n: number): Float64Array {
    return calibrateInPlace(this.calibrator, this.uncalibratedBatch(X, n));
  }

  /**
   * Occlusion: contribution of feature f = score(x) − score(x with f at its training mean and not
   * missing). Base = score of the all-mean reference row. Not additive for a nonlinear net.
   */
  explain(row: ArrayLike<number>): Explanation {
    checkRow(row, this.d);
    const full = this.raw(row);
    const contributions = this.featureNames.map((feature, f) => {
      this.encode(row, f);
      return { feature, value: row[f], contribution: full - this.forward() };
    });
    this.buf[0].fill(0);
    const base = this.forward();
    return { base, method: 'occlusion', space: 'probability', additive: false, contributions };
  }

  /** Mean absolute first-layer weight per input (indicator weights added to their feature). */
  importance(): { feature: string; gain: number }[] {
    const L = this.layers[0];
    const g = new Float64Array(this.d);
    for (let i = 0; i < L.nIn; i++) {
      let s = 0;
      for (let j = 0; j < L.nOut; j++) s += Math.abs(L.W[i * L.nOut + j]);
      g[i < this.d ? i : this.prep.missingCols[i - this.d]] += s / L.nOut;
    }
    return this.featureNames.map((feature, f) => ({ feature, gain: g[f] })).sort((a, b) => b.gain - a.gain);
  }

  withCalibration(cal: Calibrator, threshold: number): RiskModel {
    return new MlpModel(this.featureNames, this.prep, this.layers, cal, threshold, this.meta);
  }

  toJSON(): unknown {
    return {
      ...headerJSON('mlp', this.featureNames, this.threshold, this.calibrator),
      meta: this.meta,
      scaler: {
        mean: Array.from(this.prep.mean),
        std: Array.from(this.prep.std),
        missing_cols: Array.from(this.prep.missingCols),
      },
      layers: this.layers.map((l) => ({
        n_in: l.nIn,
        n_out: l.nOut,
        activation: l.activation,
        W: b64(l.W),
        b: b64(l.b),
      })),
    };
  }
}

export function mlpFromJSON(parsed: ReturnType<typeof parseHeader>): RiskModel {
  const { header, calibrator, obj } = parsed;
  const d = header.featureNames.length;
  const sc = obj.scaler as Record<string, unknown> | undefined;
  const nums = (a: unknown, where: string, len?: number): number[] => {
    if (
      !Array.isArray(a) ||
      (len !== undefined && a.length !== len) ||
      !a.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      throw new ModelFormatError(`${where}: expected an array of ${len ?? ''} finite numbers`.replace('of  ', 'of '));
    }
    return a as number[];
  };
  const mean = nums(sc?.mean, 'scaler.mean', d),
    std = nums(sc?.std, 'scaler.std', d);
  if (std.some((s) => !(s > 0))) throw new ModelFormatError('scaler.std: every value must be > 0');
  const missing = nums(sc?.missing_cols, 'scaler.missing_cols');
  if (missing.some((f) => !Number.isInteger(f) || f < 0 || f >= d))
    throw new ModelFormatError(`scaler.missing_cols: indices must be in [0, ${d})`);
  if (!Array.isArray(obj.layers) || obj.layers.length === 0)
    throw new ModelFormatError('layers: expected a non-empty array');
  let nIn = d + missing.length;
  const layers: Layer[] = obj.layers.map((l: Record<string, unknown>, i: number) => {
    const where = `layers[${i}]`;
    if (!l || l.n_in !== nIn || !Number.isInteger(l.n_out) || (l.n_out as number) < 1)
      throw new ModelFormatError(`${where}.n_in/n_out: expected n_in=${nIn} and a positive n_out`);
    if (l.activation !== 'relu' && l.activation !== 'sigmoid')
      throw new ModelFormatError(`${where}.activation: expected relu or sigmoid`);
    const nOut = l.n_out as number;
    const layer: Layer = {
      nIn,
      nOut,
      activation: l.activation,
      W: fromB64(l.W, nIn * nOut, `${where}.W`),
      b: fromB64(l.b, nOut, `${where}.b`),
    };
    nIn = nOut;
    return layer;
  });
  if (nIn !== 1) throw new ModelFormatError('layers: the last layer must have one output');
  const meta = obj.meta && typeof obj.meta === 'object' ? (obj.meta as Record<string, unknown>) : {};
  const prep: Prep = {
    mean: Float64Array.from(mean),
    std: Float64Array.from(std),
    missingCols: Int32Array.from(missing),
  };
  return new MlpModel(header.featureNames, prep, layers, calibrator, header.threshold, meta);
}

/** Evenly spaced rows (keeps the time spread) when the set is larger than the cap. */
function pickRows(n: number, cap: number): Uint32Array {
  if (n <= cap) return Uint32Array.from({ length: n }, (_, i) => i);
  return Uint32Array.from({ length: cap }, (_, k) => Math.floor((k * n) / cap));
}

/**
 * Scaling statistics: NaN filled with the observed column mean first, then each column's mean and
 * population standard deviation over an evenly spaced sample of at most 20,000 rows (what danfojs'
 * StandardScaler computed here before; a dependency of ~60 packages for two sums was not worth it).
 */
function fitScaler(train: Dataset, rows: Uint32Array): Prep {
  const { d, X } = train;
  const colMean = new Float64Array(d),
    cnt = new Float64Array(d);
  const hasMissing = new Uint8Array(d);
  for (const r of rows)
    for (let f = 0; f < d; f++) {
      const v = X[r * d + f];
      if (v === v) {
        colMean[f] += v;
        cnt[f]++;
      } else hasMissing[f] = 1;
    }
  for (let f = 0; f < d; f++) colMean[f] = cnt[f] > 0 ? colMean[f] / cnt[f] : 0;
  const sample = pickRows(rows.length, 20_000);
  const mean = new Float64Array(d),
    m2 = new Float64Array(d);
  for (const k of sample) {
    const r = rows[k];
    for (let f = 0; f < d; f++) {
      const v = X[r * d + f];
      mean[f] += v === v ? v : colMean[f];
    }
  }
  for (let f = 0; f < d; f++) mean[f] = sample.length > 0 ? mean[f] / sample.length : 0;
  for (const k of sample) {
    const r = rows[k];
    for (let f = 0; f < d; f++) {
      const v = X[r * d + f];
      const dv = (v === v ? v : colMean[f]) - mean[f];
      m2[f] += dv * dv;
    }
  }
  const std = Float64Array.from(m2, (s) => {
    const v = sample.length > 0 ? Math.sqrt(s / sample.length) : 0;
    return v > 1e-12 && Number.isFinite(v) ? v : 1;
  });
  const missingCols = Int32Array.from(Array.from({ length: d }, (_, f) => f).filter((f) => hasMissing[f]));
  return { mean, std, missingCols };
}

function encodeMatrix(ds: Dataset, rows: Uint32Array, prep: Prep): Float32Array {
  const d = ds.d,
    m = prep.missingCols.length,
    w = d + m;
  const out = new Float32Array(rows.length * w);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    for (let f = 0; f < d; f++) {
      const v = ds.X[r * d + f];
      out[k * w + f] = v === v ? (v - prep.mean[f]) / prep.std[f] : 0;
    }
    for (let j = 0; j < m; j++)
      out[k * w + d + j] = ds.X[r * d + prep.missingCols[j]] !== ds.X[r * d + prep.missingCols[j]] ? 1 : 0;
  }
  return out;
}

export async function trainMlp(
  train: Dataset,
  valid: Dataset,
  params: Partial<MlpParams>,
  identity: Calibrator,
): Promise<MlpModel> {
  const p: MlpParams = { ...MLP_DEFAULTS, ...params };
  const { tf, backend } = await loadTf();
  const rows = pickRows(train.n, p.maxRows);
  const prep = fitScaler(train, rows);
  const nIn = train.d + prep.missingCols.length;
  const xs = tf.tensor2d(encodeMatrix(train, rows, prep), [rows.length, nIn]);
  const ys = tf.tensor2d(
    Float32Array.from(rows, (r) => train.y[r]),
    [rows.length, 1],
  );
  const vRows = pickRows(valid.n, p.maxRows);
  const hasValid = valid.n > 0;
  const vx = hasValid ? tf.tensor2d(encodeMatrix(valid, vRows, prep), [vRows.length, nIn]) : undefined;
  const vy = hasValid
    ? tf.tensor2d(
        Float32Array.from(vRows, (r) => valid.y[r]),
        [vRows.length, 1],
      )
    : undefined;

  let pos = 0;
  for (const r of rows) pos += train.y[r];
  let classWeight: Record<number, number> | undefined;
  if (p.classWeight === 'balanced' && pos > 0 && pos < rows.length)
    classWeight = { 0: rows.length / (2 * (rows.length - pos)), 1: rows.length / (2 * pos) };
  else if (typeof p.classWeight === 'number') classWeight = { 0: 1, 1: p.classWeight };

  const rng = seededRandom(p.seed);
  const model = tf.sequential();
  const sizes = [...p.hidden, 1];
  sizes.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        ...(i === 0 ? { inputShape: [nIn] } : {}),
        units,
        activation: i === sizes.length - 1 ? 'sigmoid' : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: Math.floor(rng() * 1e9) }),
      }),
    );
  });
  model.compile({ optimizer: tf.train.adam(p.learningRate), loss: 'binaryCrossentropy' });
  const t0 = Date.now();
  let best = Infinity,
    bestWeights: Float32Array[] | undefined,
    bad = 0,
    epochs = 0;
  for (let e = 0; e < p.epochs; e++) {
    await model.fit(xs, ys, { epochs: 1, batchSize: p.batchSize, shuffle: true, verbose: 0, classWeight });
    epochs++;
    if (vx && vy) {
      const loss = tf.tidy(
        () =>
          tf.metrics
            .binaryCrossentropy(vy, model.predict(vx) as import('@tensorflow/tfjs').Tensor)
            .mean()
            .dataSync()[0],
      );
      if (loss < best - 1e-5) {
        best = loss;
        bad = 0;
        bestWeights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      } else if (++bad >= p.patience) break;
    }
    if (p.timeBudgetMs !== undefined && Date.now() - t0 > p.timeBudgetMs) break;
  }
  const weights = bestWeights ?? model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  tf.dispose([xs, ys, ...(vx ? [vx] : []), ...(vy ? [vy] : [])]);
  model.dispose();
  const layers: Layer[] = [];
  let inDim = nIn;
  sizes.forEach((units, i) => {
    layers.push({
      nIn: inDim,
      nOut: units,
      W: weights[2 * i],
      b: weights[2 * i + 1],
      activation: i === sizes.length - 1 ? 'sigmoid' : 'relu',
    });
    inDim = units;
  });
  return new MlpModel(train.featureNames, prep, layers, identity, 0.5, {
    backend,
    epochs,
    rows: rows.length,
    valid_loss: Number.isFinite(best) ? best : null,
  });
}
