/**
 * A randomized family of canary rollouts, so a judge tuned on some seeds can be checked on others.
 *
 * The fixed simulator (simulator.ts) has one setting — 60 one-second samples, five fixed metrics, fixed
 * regression sizes — and a judge tuned on it learned that setting: on a held-out simulator (one 60 s
 * interval per decision, 30 samples per metric, start at 5 %, four metrics with only error rate critical)
 * it missed a fifth of tail-only regressions and took 4.5 intervals to promote good releases where our own
 * simulator said 3.4. Here every release draws its own setting:
 *  - interval length (30–120 s) and scrape interval, hence samples per metric per interval (4–60); each
 *    sample aggregates the requests of one scrape window, so traffic weight changes the noise, not the count;
 *  - 3–6 metrics: error rate (always, critical), one or two latencies aggregated as p50/p95/p99/mean or
 *    one request per sample, and optionally cpu, memory and throughput (harmful when it *decreases*), each
 *    critical or not;
 *  - base rates (error rate 0 or 10⁻⁴–2 %, latency medians, request spreads), noise shapes (log-normal
 *    requests, Pareto heavy tails, bursts hitting either side independently at the same rate, over-dispersed
 *    error counts, a drift shared by both sides);
 *  - for a bad release: which kind, its size, and its onset (at once or up to three intervals in).
 * One release in three uses exactly the held-out setting. Good releases come clean or noisy (heavy tails,
 * bursts, and a harmless canary shift of up to ±3 %, inside the 10 % practical threshold).
 */
import type { MetricInput } from './judge.ts';
import { createRng, deriveSeed, type Rng } from '../simulate/prng.ts';
import { DEFAULT_SIM, simulate, type CanaryPolicy, type IntervalSource } from './simulator.ts';

export type FamilyKind =
  | 'good-clean'
  | 'good-noisy'
  | 'location'
  | 'spread'
  | 'tail-only'
  | 'error-rate'
  | 'zero-baseline-errors'
  | 'drift'
  | 'throughput';

export const FAMILY_GOOD: FamilyKind[] = ['good-clean', 'good-noisy'];
export const FAMILY_BAD: FamilyKind[] = [
  'location',
  'spread',
  'tail-only',
  'error-rate',
  'zero-baseline-errors',
  'drift',
  'throughput',
];

/**
 * Seeds the judge's constants were tuned on (101–103 for the numbers, 104–105 to find false rollbacks
 * and slow promotions; 20261205 and 777 were the first report seeds, whose results were then looked at
 * and tuned against, so they are tuning seeds now), and the seeds the benchmark reports on. They never
 * overlap (a test checks), and each seed's releases are drawn from their own derived streams.
 *
 * REPORT_SEEDS were chosen on 2026-12-05, before the second round of tuning, and their results were not
 * looked at until that round was finished: five seeds × REPORT_PER_KIND releases per kind (9 kinds, 180
 * releases per seed, 900 in all). The bars are checked on each seed and on all five together.
 */
export const TUNING_SEEDS: readonly number[] = [101, 102, 103, 104, 105, 777, 20261205];
export const REPORT_SEEDS: readonly number[] = [5150, 31415, 60601, 271828, 8675309];
export const REPORT_PER_KIND = 20;
/** The first report seed (kept for callers that report on one seed). */
export const REPORT_SEED = REPORT_SEEDS[0];

type Aggregation = 'p50' | 'p95' | 'p99' | 'mean' | 'request';
type MetricKind = 'errors' | 'latency' | 'cpu' | 'memory' | 'throughput';

export interface MetricSpec {
  name: string;
  kind: MetricKind;
  direction: 'increase' | 'decrease';
  critical: boolean;
  max_change?: number;
  margin?: number;
  /** errors: base rate; latency: request median (ms); cpu/memory/throughput: level. */
  base: number;
  /** latency: log-scale sd of one request; others: relative sd of one sample at full traffic. */
  sigma: number;
  agg?: Aggregation;
  /** Share of requests from a Pareto tail (both sides) and its shape. */
  heavy: number;
  heavyAlpha: number;
  /** Error counts' over-dispersion (gamma-Poisson shape; Infinity = Poisson). */
  dispersion: number;
}

export interface Regression {
  /** Index of the metric it hits. */
  metric: number;
  /** Seconds after the start before it shows. */
  onset_s: number;
  /** location: multiplier; spread: sigma multiplier; tail: fraction + multiplier; errors: rate; drift: per minute. */
  factor: number;
  fraction?: number;
  rate?: number;
}

export interface Scenario {
  interval_s: number;
  scrape_s: number;
  samples: number;
  /** Requests per second of the whole service at 100 %. */
  rps: number;
  metrics: MetricSpec[];
  /** Probability per window and side of a burst, and its multiplier range. */
  burst: number;
  burstSize: number;
  /** Amplitude of a slow drift shared by both sides (relative). */
  drift: number;
  /** Harmless relative canary shift of a good-noisy release. */
  harmless: number;
  regression?: Regression;
  /** Whether this release uses the held-out simulator's exact setting. */
  heldOutSetting: boolean;
}

export interface FamilyRelease {
  id: number;
  kind: FamilyKind;
  bad: boolean;
  risk: number;
  seed: number;
  scenario: Scenario;
}

const logUniform = (r: Rng, lo: number, hi: number): number => lo * Math.exp(r.next() * Math.log(hi / lo));
const uniform = (r: Rng, lo: number, hi: number): number => lo + r.next() * (hi - lo);

function latencySpec(r: Rng, name: string, agg: Aggregation, critical: boolean, noisy: boolean): MetricSpec {
  return {
    name,
    kind: 'latency',
    direction: 'increase',
    critical,
    base: logUniform(r, 20, 400),
    sigma: uniform(r, 0.2, noisy ? 0.9 : 0.6),
    agg,
    heavy: noisy ? uniform(r, 0.01, 0.05) : r.chance(0.3) ? uniform(r, 0, 0.01) : 0,
    heavyAlpha: uniform(r, 1.5, 3),
    dispersion: Infinity,
  };
}

function samplesOf(interval_s: number, scrape_s: number): number {
  return Math.max(8, Math.min(60, Math.round(interval_s / scrape_s)));
}

function makeScenario(r: Rng, kind: FamilyKind): Scenario {
  const noisy = kind === 'good-noisy' || (kind !== 'good-clean' && r.chance(0.4));
  const heldOut = r.chance(1 / 3);
  const metrics: MetricSpec[] = [];
  const errBase = kind === 'zero-baseline-errors' ? 0 : r.chance(0.15) ? 0 : logUniform(r, 1e-4, 0.02);
  metrics.push({
    name: 'error_rate',
    kind: 'errors',
    direction: 'increase',
    critical: true,
    margin: 0.25,
    base: errBase,
    sigma: 0,
    heavy: 0,
    heavyAlpha: 2,
    dispersion: noisy ? uniform(r, 0.5, 5) : Infinity,
  });
  let interval_s: number;
  let scrape_s: number;
  if (heldOut) {
    interval_s = 60;
    scrape_s = 2;
    metrics.push(latencySpec(r, 'latency_p50', 'p50', false, noisy));
    metrics.push(latencySpec(r, 'latency_p99', r.pick(['p95', 'p99'] as const), false, noisy));
    if (kind === 'drift')
      metrics.push({
        name: 'memory',
        kind: 'memory',
        direction: 'increase',
        critical: false,
        max_change: 0.05,
        base: uniform(r, 200, 2000),
        sigma: uniform(r, 0.005, noisy ? 0.03 : 0.015),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
    else if (kind === 'throughput')
      metrics.push({
        name: 'throughput',
        kind: 'throughput',
        direction: 'decrease',
        critical: false,
        base: uniform(r, 20, 200),
        sigma: uniform(r, 0.02, noisy ? 0.12 : 0.06),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
    else
      metrics.push({
        name: 'cpu',
        kind: 'cpu',
        direction: 'increase',
        critical: false,
        base: uniform(r, 10, 80),
        sigma: uniform(r, 0.03, noisy ? 0.15 : 0.08),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
    // A tail-only regression needs a metric that can see the tail; p95 sees a 5 % tail only barely.
    if (kind === 'tail-only') metrics[2].agg = 'p99';
  } else {
    interval_s = r.pick([30, 60, 60, 120]);
    // Samples per interval log-uniform in 8–60, the scrape interval following from it (0.5–15 s). Drawing
    // the scrape interval instead and clamping put 40 % of these releases at exactly 8 samples.
    scrape_s = interval_s / Math.round(logUniform(r, 8, 60));
    const aggs: Aggregation[] = ['p50', 'p95', 'p99', 'mean', 'request'];
    const nLat = r.int(1, 2);
    for (let i = 0; i < nLat; i++) metrics.push(latencySpec(r, `latency_${i}`, r.pick(aggs), r.chance(0.4), noisy));
    if (kind === 'tail-only' && !metrics.some((m) => m.agg === 'p99' || m.agg === 'mean' || m.agg === 'request'))
      metrics[1].agg = r.pick(['p99', 'mean', 'request'] as const);
    if (kind === 'location' && !metrics.some((m) => m.kind === 'latency'))
      metrics.push(latencySpec(r, 'latency_x', 'p50', false, noisy));
    if (r.chance(0.6))
      metrics.push({
        name: 'cpu',
        kind: 'cpu',
        direction: 'increase',
        critical: r.chance(0.2),
        base: uniform(r, 10, 80),
        sigma: uniform(r, 0.03, noisy ? 0.15 : 0.08),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
    if (r.chance(0.4) || kind === 'drift')
      metrics.push({
        name: 'memory',
        kind: 'memory',
        direction: 'increase',
        critical: r.chance(0.5),
        max_change: 0.05,
        base: uniform(r, 200, 2000),
        sigma: uniform(r, 0.005, noisy ? 0.03 : 0.015),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
    if (r.chance(0.4) || kind === 'throughput')
      metrics.push({
        name: 'throughput',
        kind: 'throughput',
        direction: 'decrease',
        critical: r.chance(0.3),
        base: uniform(r, 20, 200),
        sigma: uniform(r, 0.02, noisy ? 0.12 : 0.06),
        heavy: 0,
        heavyAlpha: 2,
        dispersion: Infinity,
      });
  }
  // At least 8 samples per interval: a 15 s scrape with 30 s decisions leaves 2, which no judge can use;
  // such pairings are clamped to a faster scrape.
  const samples = samplesOf(interval_s, scrape_s);
  const sc: Scenario = {
    interval_s,
    scrape_s: interval_s / samples,
    samples,
    rps: logUniform(r, 20, 2000),
    metrics,
    burst: noisy ? uniform(r, 0.01, 0.06) : 0,
    burstSize: uniform(r, 1.5, 3),
    drift: noisy ? uniform(r, 0, 0.15) : uniform(r, 0, 0.03),
    harmless: kind === 'good-noisy' ? uniform(r, -0.03, 0.03) : 0,
    heldOutSetting: heldOut,
  };
  if (FAMILY_BAD.includes(kind)) {
    // Onset: most regressions show at once; some after a warm-up (a cache expiring, a pool filling), within
    // the first two intervals — one that starts after the canary could have been promoted is no canary's to catch.
    const onset_s = r.chance(0.7) ? 0 : uniform(r, 0, 1.5 * interval_s);
    const idx = (k: MetricKind, pred: (m: MetricSpec) => boolean = () => true): number => {
      const c = metrics.map((m, i) => (m.kind === k && pred(m) ? i : -1)).filter((i) => i >= 0);
      return c.length ? r.pick(c) : -1;
    };
    switch (kind) {
      case 'location': {
        const i = r.chance(0.25) && idx('cpu') >= 0 ? idx('cpu') : idx('latency');
        sc.regression = { metric: i, onset_s, factor: uniform(r, 1.2, 1.8) };
        break;
      }
      case 'spread':
        // A wider request spread with the median unchanged; a window's p50 of many requests barely shows it.
        if (idx('latency', (m) => m.agg !== 'p50') < 0) metrics[idx('latency')].agg = 'p99';
        sc.regression = { metric: idx('latency', (m) => m.agg !== 'p50'), onset_s, factor: uniform(r, 1.6, 2.5) };
        break;
      case 'tail-only':
        {
          const i = idx('latency', (m) => m.agg !== 'p50' && m.agg !== 'p95');
          // When each sample is one request, the slow share must leave a few slow samples per interval to see.
          const least = metrics[i].agg === 'request' ? Math.min(0.2, 2 / samplesOf(interval_s, scrape_s)) : 0.05;
          sc.regression = {
            metric: i,
            onset_s,
            factor: uniform(r, 3, 8),
            fraction: uniform(r, Math.max(0.05, least), 0.2),
          };
        }
        break;
      case 'error-rate':
        sc.regression = {
          metric: 0,
          onset_s,
          factor: 0,
          rate: Math.max(errBase * uniform(r, 3, 20), uniform(r, 0.005, 0.05)),
        };
        break;
      case 'zero-baseline-errors':
        sc.regression = { metric: 0, onset_s, factor: 0, rate: uniform(r, 0.005, 0.03) };
        break;
      case 'drift':
        sc.regression = { metric: idx('memory'), onset_s, factor: uniform(r, 0.015, 0.05) };
        break;
      case 'throughput':
        sc.regression = { metric: idx('throughput'), onset_s, factor: uniform(r, 0.6, 0.8) };
        break;
    }
  }
  return sc;
}

export function makeFamily(
  seed: number,
  perKind: number,
  kinds: FamilyKind[] = [...FAMILY_GOOD, ...FAMILY_BAD],
): FamilyRelease[] {
  const out: FamilyRelease[] = [];
  let id = 0;
  for (const kind of kinds) {
    for (let i = 0; i < perKind; i++) {
      const r = createRng(deriveSeed(seed, `${kind}#${i}`));
      const bad = FAMILY_BAD.includes(kind);
      const u = r.next();
      // The risk model is informative but far from perfect: the two populations overlap (as in simulator.ts).
      const risk = bad ? 0.15 + 0.7 * u : 0.02 + 0.45 * u * u;
      out.push({
        id: id++,
        kind,
        bad,
        risk,
        seed: deriveSeed(seed, `${kind}#${i}/samples`),
        scenario: makeScenario(r, kind),
      });
    }
  }
  return out;
}

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 boosted). */
function gamma(r: Rng, shape: number): number {
  if (shape < 1) return gamma(r, shape + 1) * Math.pow(1 - r.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = r.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - r.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

const MAX_REQUESTS_PER_WINDOW = 50;
const REQ_BUF = new Float64Array(MAX_REQUESTS_PER_WINDOW);

/** One scrape window's aggregate of `k` request latencies. */
function latencySample(
  r: Rng,
  m: MetricSpec,
  k: number,
  reg: Regression | undefined,
  active: boolean,
  loc: number,
): number {
  const sigma = m.sigma * (active && reg && !reg.fraction ? reg.factor : 1);
  const n = Math.min(k, MAX_REQUESTS_PER_WINDOW);
  for (let i = 0; i < n; i++) {
    let x = m.base * loc * Math.exp(sigma * r.normal());
    if (m.heavy > 0 && r.next() < m.heavy) x *= Math.pow(1 - r.next(), -1 / m.heavyAlpha);
    if (active && reg?.fraction && r.next() < reg.fraction) x *= reg.factor;
    REQ_BUF[i] = x;
  }
  const a = REQ_BUF.subarray(0, n);
  if (m.agg === 'request' || n === 1) return a[0];
  if (m.agg === 'mean') {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i];
    return s / n;
  }
  a.sort();
  const q = m.agg === 'p50' ? 0.5 : m.agg === 'p95' ? 0.95 : 0.99;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  return a[lo] + (h - lo) * (a[Math.min(n - 1, lo + 1)] - a[lo]);
}

/**
 * Samples one decision interval: for each metric, `samples` scrape windows of the canary and of an equally
 * sized baseline. `t0` is seconds since the rollout started.
 */
export function sampleFamilyInterval(rel: FamilyRelease, r: Rng, weight: number, t0: number): MetricInput[] {
  const sc = rel.scenario;
  const reqPerWindow = Math.max(1, (sc.rps * weight * sc.scrape_s) / 100);
  const out: MetricInput[] = [];
  for (let mi = 0; mi < sc.metrics.length; mi++) {
    const m = sc.metrics[mi];
    const reg = sc.regression && sc.regression.metric === mi ? sc.regression : undefined;
    const baseline: number[] = [];
    const canary: number[] = [];
    for (let s = 0; s < sc.samples; s++) {
      const t = t0 + s * sc.scrape_s;
      const shared = 1 + sc.drift * Math.sin(t / 400 + rel.seed);
      for (const side of [0, 1]) {
        const isCanary = side === 1;
        const active = isCanary && reg !== undefined && t >= reg.onset_s;
        const burst = sc.burst > 0 && r.next() < sc.burst ? sc.burstSize : 1;
        let v: number;
        switch (m.kind) {
          case 'errors': {
            const rate = active ? reg!.rate! : m.base;
            const lambda = Number.isFinite(m.dispersion)
              ? (gamma(r, m.dispersion) / m.dispersion) * rate * reqPerWindow
              : rate * reqPerWindow;
            const req = Math.max(1, Math.round(reqPerWindow));
            v = Math.min(req, r.poisson(lambda * (burst > 1 ? 1 + (burst - 1) * 2 : 1))) / req;
            break;
          }
          case 'latency': {
            let loc = shared * burst * (isCanary ? 1 + sc.harmless : 1);
            if (active && rel.kind === 'location') loc *= reg!.factor;
            const spreadReg = active && rel.kind === 'spread' ? reg : undefined;
            const tailReg = active && rel.kind === 'tail-only' ? reg : undefined;
            v = latencySample(
              r,
              m,
              Math.round(reqPerWindow),
              spreadReg ?? tailReg,
              spreadReg !== undefined || tailReg !== undefined,
              loc,
            );
            break;
          }
          case 'cpu': {
            // Per-pod utilisation: noisier when the pod serves few requests.
            const sd = m.sigma * (1 + 3 / Math.sqrt(reqPerWindow));
            const lvl = active && rel.kind === 'location' ? reg!.factor : 1;
            v = m.base * lvl * shared * (burst > 1 ? 1 + (burst - 1) / 3 : 1) * (1 + sd * r.normal());
            break;
          }
          case 'memory': {
            const leak = active ? 1 + reg!.factor * ((t - reg!.onset_s) / 60) : 1;
            v = m.base * leak * (1 + m.sigma * r.normal());
            break;
          }
          case 'throughput': {
            const sd = m.sigma * (1 + 3 / Math.sqrt(reqPerWindow));
            const lvl = active ? reg!.factor : 1;
            v =
              m.base *
              lvl *
              (shared + (1 - shared) * 0.5) *
              (burst > 1 ? 1 / (1 + (burst - 1) / 3) : 1) *
              (1 + sd * r.normal());
            break;
          }
        }
        (isCanary ? canary : baseline).push(v);
      }
    }
    out.push({
      name: m.name,
      direction: m.direction,
      critical: m.critical,
      ...(m.max_change !== undefined ? { max_change: m.max_change } : {}),
      ...(m.margin !== undefined ? { margin: m.margin } : {}),
      baseline,
      canary,
    });
  }
  return out;
}

export { createRng };

/** The interval source of a family release: its own stream of samples, starting every policy at 5 %. */
export function familySource(rel: FamilyRelease): IntervalSource {
  const r = createRng(rel.seed);
  return {
    interval_s: rel.scenario.interval_s,
    start: 5,
    sample: (weight, t0) => sampleFamilyInterval(rel, r, weight, t0),
  };
}

/** Rolls every release out under `policy` over a 60-minute horizon (the held-out simulator's exposure window). */
export function simulateFamily(
  policy: CanaryPolicy,
  releases: FamilyRelease[],
  horizon_s = 3600,
): ReturnType<typeof simulate> {
  return simulate(policy, { ...DEFAULT_SIM, horizon_s }, releases, (rel) => familySource(rel as FamilyRelease));
}

export interface FamilyRow {
  policy: string;
  by_kind: Record<
    string,
    { bad: boolean; count: number; rolled_back: number; promoted: number; exposure: number; decisions_to_full: number }
  >;
  bad_caught: number;
  good_rolled_back: number;
  bad_exposure: number;
  good_decisions_to_full: number;
  /** The same figures on the releases that use the held-out simulator's setting only. */
  held_out: {
    bad_caught: number;
    good_rolled_back: number;
    bad_exposure: number;
    good_decisions_to_full: number;
    bad: number;
    good: number;
  };
}

/** Runs `policy` on `releases` and sums up per kind and in total (also for the held-out setting alone). */
export async function familyRow(policy: CanaryPolicy, releases: FamilyRelease[]): Promise<FamilyRow> {
  const { results, summary } = await simulateFamily(policy, releases);
  const by_kind: FamilyRow['by_kind'] = {};
  for (const [k, v] of Object.entries(summary.by_kind))
    by_kind[k] = { ...v, bad: FAMILY_BAD.includes(k as FamilyKind) };
  const ho = results.filter((x) => (x.release as FamilyRelease).scenario.heldOutSetting);
  const sum = (xs: typeof results) => {
    const bad = xs.filter((x) => x.release.bad);
    const good = xs.filter((x) => !x.release.bad);
    const promoted = good.filter((x) => x.outcome === 'promoted');
    return {
      bad_caught: bad.filter((x) => x.outcome === 'rolled_back').length / Math.max(1, bad.length),
      good_rolled_back: good.filter((x) => x.outcome === 'rolled_back').length / Math.max(1, good.length),
      bad_exposure: bad.reduce((s, x) => s + x.exposure, 0) / Math.max(1, bad.length),
      good_decisions_to_full: promoted.reduce((s, x) => s + x.steps, 0) / Math.max(1, promoted.length),
      bad: bad.length,
      good: good.length,
    };
  };
  const all = sum(results);
  return {
    policy: policy.name,
    by_kind,
    bad_caught: all.bad_caught,
    good_rolled_back: all.good_rolled_back,
    bad_exposure: all.bad_exposure,
    good_decisions_to_full: all.good_decisions_to_full,
    held_out: sum(ho),
  };
}

/**
 * The by-kind table: per kind and policy, caught % (bad kinds: rolled back) or false rollback % (good kinds),
 * mean exposure (%·min over the 60-minute horizon) and mean decisions to full traffic of promoted releases.
 */
export function familyTable(rows: FamilyRow[]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const kinds = Object.keys(rows[0]?.by_kind ?? {});
  const head = ['kind', 'n', ...rows.flatMap((r) => [`${r.policy}: caught / false rb`, 'exposure', 'to full'])];
  const body: string[][] = kinds.map((k) => {
    const first = rows[0].by_kind[k];
    return [
      k,
      String(first.count),
      ...rows.flatMap((r) => {
        const v = r.by_kind[k];
        return [
          `${v.bad ? 'caught' : 'false rb'} ${pct(v.rolled_back / v.count)}`,
          num(v.exposure),
          num(v.decisions_to_full, 2),
        ];
      }),
    ];
  });
  for (const [label, pick] of [
    ['all', (r: FamilyRow) => r],
    ['held-out setting', (r: FamilyRow) => r.held_out],
  ] as const) {
    body.push([
      label,
      '',
      ...rows.flatMap((r) => {
        const v = pick(r);
        return [
          `caught ${pct(v.bad_caught)}, false rb ${pct(v.good_rolled_back)}`,
          `bad ${num(v.bad_exposure)}`,
          num(v.good_decisions_to_full, 2),
        ];
      }),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
