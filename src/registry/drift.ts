import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, register as defaultRegister, type Registry as PromRegistry } from 'prom-client';

/**
 * Population stability index of each input feature and of the scores, live traffic against the data a model
 * was trained on. Bins are the training quantiles (so each holds ~equal training mass) plus one bin for
 * missing values, because "this feature suddenly goes missing" is drift too.
 */
export const REFERENCE_FILE = 'drift-reference.json';
export const DEFAULT_PSI_THRESHOLD = 0.2;

export interface BinnedReference {
  /** Ascending cut points; bin i holds values in (edges[i-1], edges[i]], the last bin everything above. */
  edges: number[];
  /** Training share per bin: [missing, bin 0, …, bin edges.length]. */
  fractions: number[];
}

export interface DriftReference {
  features: Record<string, BinnedReference>;
  score: BinnedReference;
  rows: number;
}

/** Quantile cut points of the finite values (deduplicated: a constant feature has no cut). */
export function quantileEdges(values: ArrayLike<number>, bins = 10): number[] {
  const v = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (v.length === 0) return [];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const q = v[Math.min(v.length - 1, Math.floor((i * v.length) / bins))];
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  // The top cut equal to the maximum would leave the last bin empty in training; drop it.
  if (edges.length && edges[edges.length - 1] >= v[v.length - 1]) edges.pop();
  return edges;
}

/** Bin index: 0 = missing, 1 + (first edge ≥ value), else the last bin. */
export function binOf(edges: readonly number[], value: number): number {
  if (!Number.isFinite(value)) return 0;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return 1 + lo;
}

export function histogram(edges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (let i = 0; i < values.length; i++) counts[binOf(edges, values[i])]++;
  return counts;
}

const toFractions = (counts: number[]): number[] => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
};

/**
 * PSI = Σ (a − e) · ln(a / e) over bins. Empty bins are floored at `eps` so a bin that appears or vanishes
 * counts as large drift instead of infinity.
 */
export function psi(expected: readonly number[], actual: readonly number[], eps = 1e-4): number {
  if (expected.length !== actual.length)
    throw new RangeError(`psi: ${expected.length} expected bins vs ${actual.length} actual`);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], eps);
    const a = Math.max(actual[i], eps);
    if (expected[i] === 0 && actual[i] === 0) continue;
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

export function binReference(values: ArrayLike<number>, bins = 10): BinnedReference {
  const edges = quantileEdges(values, bins);
  return { edges, fractions: toFractions(histogram(edges, values)) };
}

/** The reference of a model: its training rows (row-major n × d) and its scores on them. */
export function referenceFromRows(
  X: ArrayLike<number>,
  n: number,
  d: number,
  names: readonly string[],
  scores: ArrayLike<number>,
  bins = 10,
): DriftReference {
  const features: Record<string, BinnedReference> = {};
  const col = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = X[i * d + j];
    features[names[j]] = binReference(col, bins);
  }
  return { features, score: binReference(scores, bins), rows: n };
}

export function readReference(modelsDir: string, modelId: string): DriftReference | null {
  const file = join(modelsDir, modelId, REFERENCE_FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DriftReference;
  } catch {
    return null;
  }
}

export interface DriftReport {
  model: string | null;
  samples: number;
  threshold: number;
  /** False until `minSamples` live requests were seen: PSI on a handful of requests is noise. */
  ready: boolean;
  score_psi: number | null;
  features: { feature: string; psi: number }[];
  drifted: string[];
}

export interface DriftMonitor {
  /** Records one live request's feature vector (in the reference's feature order) and its score. */
  observe(x: ArrayLike<number>, score: number): void;
  /** Switches to a new model's reference (a promotion) and starts a fresh window. */
  setReference(modelId: string | null, ref: DriftReference | null): void;
  report(): DriftReport;
  /** Computes the report, updates the gauges, and calls `onDrift` for features that newly crossed the threshold. */
  check(): DriftReport;
}

export interface DriftMonitorOptions {
  featureNames: readonly string[];
  threshold?: number;
  /** Live requests kept (a sliding window, so old traffic ages out). */
  windowSize?: number;
  minSamples?: number;
  onDrift?: (report: DriftReport, newly: string[]) => void;
  /** Where the gauges register; null to skip Prometheus (tests that build many monitors). */
  promRegistry?: PromRegistry | null;
}

export function createDriftMonitor(o: DriftMonitorOptions): DriftMonitor {
  const names = o.featureNames;
  const d = names.length;
  const threshold = o.threshold ?? DEFAULT_PSI_THRESHOLD;
  const windowSize = o.windowSize ?? 5000;
  const minSamples = o.minSamples ?? 200;
  let modelId: string | null = null;
  let ref: DriftReference | null = null;
  // Bin indices of the window (ring buffer), so counts can be decremented as requests age out.
  let bins = new Uint8Array(windowSize * (d + 1));
  let counts: number[][] = [];
  let pos = 0;
  let size = 0;
  let alerted = new Set<string>();

  const registers = o.promRegistry === null ? [] : [o.promRegistry ?? defaultRegister];
  const existing = (name: string) => registers[0]?.getSingleMetric(name) as Gauge<string> | undefined;
  const featureGauge =
    existing('riskgate_feature_psi') ??
    (registers.length
      ? new Gauge({
          name: 'riskgate_feature_psi',
          help: 'Population stability index of an input feature, live vs training',
          labelNames: ['feature'],
          registers,
        })
      : null);
  const scoreGauge =
    existing('riskgate_score_psi') ??
    (registers.length
      ? new Gauge({
          name: 'riskgate_score_psi',
          help: 'Population stability index of the scores, live vs training',
          registers,
        })
      : null);

  const refOf = (j: number): BinnedReference | undefined => (j === d ? ref?.score : ref?.features[names[j]]);

  const reset = () => {
    bins = new Uint8Array(windowSize * (d + 1));
    counts = Array.from({ length: d + 1 }, (_, j) => new Array<number>((refOf(j)?.edges.length ?? 0) + 2).fill(0));
    pos = 0;
    size = 0;
    alerted = new Set();
  };
  reset();

  const report = (): DriftReport => {
    const ready = ref !== null && size >= minSamples;
    const features: { feature: string; psi: number }[] = [];
    let scorePsi: number | null = null;
    if (ready) {
      for (let j = 0; j <= d; j++) {
        const r = refOf(j);
        if (!r) continue;
        const v = psi(r.fractions, toFractions(counts[j]));
        if (j === d) scorePsi = v;
        else features.push({ feature: names[j], psi: v });
      }
      features.sort((a, b) => b.psi - a.psi);
    }
    const drifted = features.filter((f) => f.psi > threshold).map((f) => f.feature);
    if (scorePsi !== null && scorePsi > threshold) drifted.push('score');
    return { model: modelId, samples: size, threshold, ready, score_psi: scorePsi, features, drifted };
  };

  return {
    observe(x, score) {
      if (!ref) return;
      const base = pos * (d + 1);
      if (size === windowSize) for (let j = 0; j <= d; j++) counts[j][bins[base + j]]--;
      for (let j = 0; j <= d; j++) {
        const r = refOf(j);
        const b = r ? Math.min(binOf(r.edges, j === d ? score : x[j]), 255) : 0;
        bins[base + j] = b;
        counts[j][b]++;
      }
      pos = (pos + 1) % windowSize;
      size = Math.min(size + 1, windowSize);
    },
    setReference(id, r) {
      modelId = id;
      ref = r;
      reset();
    },
    report,
    check() {
      const r = report();
      if (r.ready) {
        for (const f of r.features) featureGauge?.set({ feature: f.feature }, f.psi);
        if (r.score_psi !== null) scoreGauge?.set(r.score_psi);
      }
      const newly = r.drifted.filter((f) => !alerted.has(f));
      for (const f of newly) alerted.add(f);
      // A feature that settled back may alert again if it drifts again later.
      for (const f of [...alerted]) if (!r.drifted.includes(f)) alerted.delete(f);
      if (newly.length) o.onDrift?.(r, newly);
      return r;
    },
  };
}
