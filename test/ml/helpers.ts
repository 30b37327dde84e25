import type { Dataset } from '../../src/ml/dataset.ts';
import { seededRandom } from '../../src/ml/random.ts';

export const rng = seededRandom;

/** Builds a Dataset from a per-row generator: gen(r) returns [features, label]. */
export function makeDataset(n: number, d: number, seed: number, gen: (r: () => number) => [number[], number]): Dataset {
  const r = seededRandom(seed);
  const X = new Float32Array(n * d),
    y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const [x, label] = gen(r);
    X.set(x, i * d);
    y[i] = label;
  }
  return { X, n, d, y, featureNames: Array.from({ length: d }, (_, f) => `f${f}`) };
}

/** XOR of the signs of f0 and f1 (plus label noise) and 3 pure-noise features. */
export function xor(n: number, seed: number, noise = 0.05): Dataset {
  return makeDataset(n, 5, seed, (r) => {
    const x = Array.from({ length: 5 }, () => r() * 2 - 1);
    let y = x[0] * x[1] > 0 ? 1 : 0;
    if (r() < noise) y = 1 - y;
    return [x, y];
  });
}

export const row = (ds: Dataset, i: number): Float32Array => ds.X.subarray(i * ds.d, (i + 1) * ds.d);
