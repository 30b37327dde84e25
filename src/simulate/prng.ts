/**
 * A small seeded PRNG (mulberry32) with the few distributions the simulator needs. Own generator rather than
 * Math.random so a seed reproduces the same history byte for byte on every machine and Node version.
 */
import { mulberry32 } from '../ml/random.ts';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks an index with probability proportional to its weight. */
  weighted(weights: readonly number[]): number;
  /** Exponential with the given mean. */
  exp(mean: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Log-normal whose median is `median`; `sigma` is the log-scale spread. */
  lognormal(median: number, sigma: number): number;
  /** 0 for a mean of 0 (or NaN) without a draw; above 30 the normal approximation. */
  poisson(mean: number): number;
  hex(len: number): string;
}

export { mulberry32 };

/** FNV-1a over a string, mixed with a seed: derives independent streams (one per repo) from one seed. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche so seeds that differ in one bit do not give correlated first draws.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

/** Standard normal by Box–Muller from a uniform source: two draws, the first for the radius. */
export function standardNormal(u: () => number): number {
  const a = 1 - u();
  const b = u();
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
}

/**
 * Poisson draw from a uniform source. Knuth's method (one draw per event) for the small hourly means of the
 * history; above a mean of 30, where it would cost 30+ draws and underflow toward e^-mean, the rounded normal
 * approximation the canary simulators use for request counts.
 */
export function poisson(u: () => number, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * standardNormal(u)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= u();
  } while (p > l);
  return k - 1;
}

export function createRng(seed: number): Rng {
  const u = mulberry32(seed);
  const rng: Rng = {
    next: u,
    int: (lo, hi) => lo + Math.floor(u() * (hi - lo + 1)),
    chance: (p) => u() < p,
    pick: (items) => items[Math.floor(u() * items.length)],
    weighted(weights) {
      let total = 0;
      for (const w of weights) total += w;
      let x = u() * total;
      for (let i = 0; i < weights.length; i++) {
        x -= weights[i];
        if (x < 0) return i;
      }
      return weights.length - 1;
    },
    exp: (mean) => -Math.log(1 - u()) * mean,
    normal: () => standardNormal(u),
    lognormal: (median, sigma) => median * Math.exp(sigma * rng.normal()),
    poisson: (mean) => poisson(u, mean),
    hex(len) {
      let s = '';
      while (s.length < len) s += ((u() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
      return s.slice(0, len);
    },
  };
  return rng;
}
