/**
 * Post-hoc probability calibration fitted on the (later, time-ordered) validation split.
 * Inputs are uncalibrated scores in [0,1]; outputs are probabilities in [0,1].
 */
import { brier } from './metrics.ts';

export type CalibratorKind = 'isotonic' | 'platt' | 'identity';
export type Calibrator = { kind: CalibratorKind; apply(s: number): number; toJSON(): unknown };

/** Calibrates a batch of scores in place (every model's predictBatch). */
export function calibrateInPlace(c: Calibrator, scores: Float64Array): Float64Array {
  for (let i = 0; i < scores.length; i++) scores[i] = c.apply(scores[i]);
  return scores;
}

const EPS = 1e-6;
const logit = (s: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, s));
  return Math.log(q / (1 - q));
};

function identity(): Calibrator {
  return { kind: 'identity', apply: (s) => Math.min(1, Math.max(0, s)), toJSON: () => ({ kind: 'identity' }) };
}

/** Piecewise-linear between block knots, clipped at the ends (same behaviour as sklearn's isotonic). */
function isotonicFrom(xs: number[], ys: number[]): Calibrator {
  const X = Float64Array.from(xs),
    Y = Float64Array.from(ys);
  const m = X.length;
  return {
    kind: 'isotonic',
    apply(s: number): number {
      if (Number.isNaN(s)) return NaN;
      if (s <= X[0]) return Y[0];
      if (s >= X[m - 1]) return Y[m - 1];
      let lo = 0,
        hi = m - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (X[mid] <= s) lo = mid;
        else hi = mid;
      }
      const t = (s - X[lo]) / (X[hi] - X[lo]);
      return Y[lo] + t * (Y[hi] - Y[lo]);
    },
    toJSON: () => ({ kind: 'isotonic', x: xs, y: ys }),
  };
}

function plattFrom(a: number, b: number): Calibrator {
  return {
    kind: 'platt',
    apply: (s) => 1 / (1 + Math.exp(-(a * logit(s) + b))),
    toJSON: () => ({ kind: 'platt', a, b }),
  };
}

/** Pool-adjacent-violators on (score, label) pairs; knots at each block's mean score. */
function fitIsotonic(s: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  const n = s.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[a] - s[b]);
  // Equal scores must share one output, so they enter PAV as a single weighted point.
  const bx: number[] = [],
    by: number[] = [],
    bw: number[] = [];
  for (let i = 0; i < n;) {
    let j = i,
      sy = 0;
    while (j < n && s[idx[j]] === s[idx[i]]) sy += y[idx[j++]];
    let w = j - i,
      mx = s[idx[i]],
      my = sy / w;
    while (by.length && by[by.length - 1] >= my) {
      const pw = bw.pop()!,
        py = by.pop()!,
        px = bx.pop()!;
      my = (my * w + py * pw) / (w + pw);
      mx = (mx * w + px * pw) / (w + pw);
      w += pw;
    }
    bx.push(mx);
    by.push(my);
    bw.push(w);
    i = j;
  }
  return isotonicFrom(bx, by);
}

/** Platt scaling on the score's log-odds, Newton iterations with Platt's smoothed targets. */
function fitPlatt(s: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  const n = s.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i];
  const tPos = (pos + 1) / (pos + 2),
    tNeg = 1 / (n - pos + 2);
  const f = Float64Array.from({ length: n }, (_, i) => logit(s[i]));
  const loss = (a: number, b: number): number => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const z = a * f[i] + b,
        t = y[i] === 1 ? tPos : tNeg;
      // log(1+e^z) - t·z, written stably
      l += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - t * z;
    }
    return l;
  };
  let a = 1,
    b = 0,
    cur = loss(a, b);
  for (let it = 0; it < 100; it++) {
    let g1 = 0,
      g2 = 0,
      h11 = 1e-9,
      h22 = 1e-9,
      h12 = 0;
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-(a * f[i] + b)));
      const t = y[i] === 1 ? tPos : tNeg;
      const d = p - t,
        w = p * (1 - p);
      g1 += d * f[i];
      g2 += d;
      h11 += w * f[i] * f[i];
      h22 += w;
      h12 += w * f[i];
    }
    const det = h11 * h22 - h12 * h12;
    if (!(Math.abs(det) > 1e-12)) break;
    const da = (h22 * g1 - h12 * g2) / det,
      db = (h11 * g2 - h12 * g1) / det;
    // Backtracking keeps Newton from overshooting on separable or extreme scores.
    let step = 1,
      next = loss(a - da, b - db);
    while (!(next <= cur) && step > 1e-6) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (!(next <= cur)) break;
    a -= step * da;
    b -= step * db;
    const improved = cur - next;
    cur = next;
    if (improved < 1e-10 * n) break;
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) return identity();
  return plattFrom(a, b);
}

function fitKind(kind: 'isotonic' | 'platt', s: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  return kind === 'isotonic' ? fitIsotonic(s, y) : fitPlatt(s, y);
}

/**
 * 'auto' compares the two by 5-fold cross-validated Brier inside the validation split: isotonic
 * always wins an in-sample comparison (it is the least-squares monotone fit), so that would be no choice.
 * With a single class or fewer than 20 rows there is nothing to learn, so the identity is returned.
 */
export function fitCalibrator(
  scores: ArrayLike<number>,
  y: ArrayLike<number>,
  kind: 'isotonic' | 'platt' | 'auto' = 'auto',
): Calibrator {
  if (scores.length !== y.length) throw new RangeError(`fitCalibrator: ${scores.length} scores but ${y.length} labels`);
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`fitCalibrator: scores[${i}] is not finite (${scores[i]})`);
    pos += y[i] === 1 ? 1 : 0;
  }
  if (n < 20 || pos === 0 || pos === n) return identity();
  if (kind !== 'auto') return fitKind(kind, scores, y);
  const K = 5;
  const err = { isotonic: 0, platt: 0 };
  for (let k = 0; k < K; k++) {
    const trS: number[] = [],
      trY: number[] = [],
      teS: number[] = [],
      teY: number[] = [];
    // Contiguous folds respect time order better than interleaving would.
    const lo = Math.floor((k * n) / K),
      hi = Math.floor(((k + 1) * n) / K);
    for (let i = 0; i < n; i++) {
      if (i >= lo && i < hi) {
        teS.push(scores[i]);
        teY.push(y[i]);
      } else {
        trS.push(scores[i]);
        trY.push(y[i]);
      }
    }
    for (const kk of ['isotonic', 'platt'] as const) {
      const c = fitKind(kk, trS, trY);
      err[kk] +=
        brier(
          teY,
          teS.map((s) => c.apply(s)),
        ) * teS.length;
    }
  }
  return fitKind(err.isotonic < err.platt ? 'isotonic' : 'platt', scores, y);
}

export function calibratorFromJSON(j: unknown): Calibrator {
  const o = j as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new TypeError('calibrator: expected an object');
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  switch (o.kind) {
    case 'identity':
      return identity();
    case 'platt':
      if (!isNum(o.a) || !isNum(o.b)) throw new TypeError('calibrator.a/b: platt needs finite numbers a and b');
      return plattFrom(o.a, o.b);
    case 'isotonic': {
      const x = o.x,
        y = o.y;
      if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length) {
        throw new TypeError('calibrator.x/y: isotonic needs two non-empty arrays of equal length');
      }
      for (let i = 0; i < x.length; i++) {
        if (!isNum(x[i]) || !isNum(y[i])) throw new TypeError(`calibrator.x[${i}]/y[${i}]: not a finite number`);
        if (i > 0 && (x[i] < x[i - 1] || y[i] < y[i - 1]))
          throw new TypeError(`calibrator.x[${i}]: knots must be non-decreasing`);
      }
      return isotonicFrom(x as number[], y as number[]);
    }
    default:
      throw new TypeError(`calibrator.kind: expected 'isotonic' | 'platt' | 'identity', got ${JSON.stringify(o.kind)}`);
  }
}
