/**
 * A seeded canary simulator: good releases and bad ones of several kinds, each rolled out by a policy
 * that sees, every interval, per-second metric samples of the canary and of an equally sized baseline —
 * the setup Kayenta recommends, so traffic weight changes sample noise but not the comparison.
 * All policies (Riskgate's controller, a fixed schedule, a Kayenta-style judge) go through `simulate`.
 */
import type { MetricInput } from './judge.ts';
import { mulberry32, poisson, standardNormal as normal } from '../simulate/prng.ts';

export type ReleaseKind =
  | 'good'
  | 'noisy_fine'
  | 'step_errors'
  | 'memory_leak'
  | 'latency_tail'
  | 'rising_variance'
  | 'sparse_errors'
  | 'zero_baseline_errors';

export const GOOD_KINDS: ReleaseKind[] = ['good', 'noisy_fine'];
export const BAD_KINDS: ReleaseKind[] = [
  'step_errors',
  'memory_leak',
  'latency_tail',
  'rising_variance',
  'sparse_errors',
  'zero_baseline_errors',
];

/** What a policy and the summary see of a release, from this simulator or the randomized family (family.ts). */
export interface RolloutSubject {
  id: number;
  kind: string;
  bad: boolean;
  risk: number;
  seed: number;
}

export interface Release extends RolloutSubject {
  id: number;
  kind: ReleaseKind;
  bad: boolean;
  /** Predicted failure probability the risk model gave this release (noisy, but informative). */
  risk: number;
  seed: number;
}

export interface StepContext {
  weight: number;
  /** Seconds spent at the current weight, including this interval. */
  elapsed_s: number;
  /** Seconds since the rollout started, at the end of this interval. */
  t_s: number;
  risk: number;
  metrics: MetricInput[];
}

export interface StepAnswer {
  action: 'increase' | 'hold' | 'rollback' | 'promote';
  next_weight: number;
}

/** One rollout's decision maker; a policy makes a fresh one per release (state lives inside). */
export interface RolloutDriver {
  start: number;
  step(ctx: StepContext): Promise<StepAnswer> | StepAnswer;
}

export interface CanaryPolicy {
  name: string;
  begin(release: RolloutSubject): RolloutDriver;
}

// The project's PRNG and normal draw, re-exported as the noise source the canary tests build samples with.
export { mulberry32, normal };

export interface SimConfig {
  seed: number;
  /** Releases per kind. */
  perKind: number;
  kinds?: ReleaseKind[];
  /** Seconds per decision interval (one sample per second). */
  interval_s: number;
  /** Requests per second of the whole service at 100 % traffic. */
  rps: number;
  /** Observation horizon for exposure accounting (and the longest rollout), seconds. */
  horizon_s: number;
}

export const DEFAULT_SIM: SimConfig = { seed: 42, perKind: 100, interval_s: 60, rps: 200, horizon_s: 3600 };

export function makeReleases(cfg: SimConfig): Release[] {
  const r = mulberry32(cfg.seed);
  const kinds = cfg.kinds ?? [...GOOD_KINDS, ...BAD_KINDS];
  const out: Release[] = [];
  let id = 0;
  for (const kind of kinds) {
    for (let i = 0; i < cfg.perKind; i++) {
      const bad = BAD_KINDS.includes(kind);
      const u = r();
      // The risk model is informative but far from perfect: the two populations overlap.
      const risk = bad ? 0.15 + 0.7 * u : 0.02 + 0.45 * u * u;
      out.push({ id: id++, kind, bad, risk, seed: Math.floor(r() * 2 ** 31) });
    }
  }
  return out;
}

/** Samples one interval of the five standard metrics for canary and baseline. */
export function sampleInterval(
  rel: Release,
  r: () => number,
  weight: number,
  t0: number,
  cfg: SimConfig,
): MetricInput[] {
  const n = cfg.interval_s;
  const req = Math.max(1, (cfg.rps * weight) / 100);
  const k = rel.kind;
  const noisy = k === 'noisy_fine' ? 2.5 : 1;
  const base = { err: k === 'zero_baseline_errors' ? 0 : 0.002, p50: 100, p95: 300, cpu: 40, mem: 500 };
  const err = { baseline: [] as number[], canary: [] as number[] };
  const p50 = { baseline: [] as number[], canary: [] as number[] };
  const p95 = { baseline: [] as number[], canary: [] as number[] };
  const cpu = { baseline: [] as number[], canary: [] as number[] };
  const mem = { baseline: [] as number[], canary: [] as number[] };
  const latNoise = (0.05 + 0.3 / Math.sqrt(req)) * noisy;
  const tailNoise = (0.08 + 0.5 / Math.sqrt(req)) * noisy;
  for (let i = 0; i < n; i++) {
    const t = t0 + i;
    for (const side of ['baseline', 'canary'] as const) {
      const c = side === 'canary';
      let pErr = base.err;
      if (c && k === 'step_errors') pErr = 0.05;
      if (c && k === 'sparse_errors') pErr = 0.012;
      if (c && k === 'zero_baseline_errors') pErr = 0.01;
      err[side].push(poisson(r, req * pErr) / req);
      // Harmless spikes hit both sides of a noisy-but-fine release alike.
      const spike = k === 'noisy_fine' && r() < 0.03 ? 1.8 : 1;
      p50[side].push(base.p50 * (c && k === 'noisy_fine' ? 1.02 : 1) * spike * Math.exp(latNoise * normal(r)));
      let p95mult = 1;
      let p95noise = tailNoise;
      if (c && k === 'latency_tail') p95mult = 1.4;
      if (c && k === 'rising_variance') p95noise = tailNoise * (1.6 + t / 300);
      p95[side].push(base.p95 * p95mult * spike * Math.exp(p95noise * normal(r)));
      cpu[side].push(base.cpu * (1 + 0.08 * noisy * normal(r)));
      const leak = c && k === 'memory_leak' ? 1 + 0.03 * (t / 60) : 1; // +3 % per minute
      mem[side].push(base.mem * leak * (1 + 0.02 * noisy * normal(r)));
    }
  }
  return [
    { name: 'error_rate', direction: 'increase', critical: true, margin: 0.25, ...err },
    { name: 'latency_p50', direction: 'increase', ...p50 },
    { name: 'latency_p95', direction: 'increase', critical: true, ...p95 },
    { name: 'cpu', direction: 'increase', ...cpu },
    { name: 'memory', direction: 'increase', critical: true, max_change: 0.03, ...mem },
  ];
}

export interface RolloutResult {
  release: RolloutSubject;
  outcome: 'promoted' | 'rolled_back' | 'unfinished';
  /** Decisions taken until promotion or rollback. */
  steps: number;
  /** Distinct traffic weights the canary ran at, counting full traffic (fixed 5/25/75/100 ⇒ 4). */
  traffic_steps: number;
  /** Seconds until promotion or rollback. */
  time_s: number;
  /** ∫ weight dt over the horizon, in percent·minutes (promoted ⇒ 100 % for the rest of the horizon). */
  exposure: number;
}

/** Where a rollout's intervals come from: this simulator's five metrics, or a family scenario. */
export interface IntervalSource {
  interval_s: number;
  /** Forces the first weight (the held-out simulator starts every policy at 5 %). */
  start?: number;
  sample(weight: number, t0: number): MetricInput[];
}

function defaultSource(rel: Release, cfg: SimConfig): IntervalSource {
  const r = mulberry32(rel.seed);
  return { interval_s: cfg.interval_s, sample: (weight, t0) => sampleInterval(rel, r, weight, t0, cfg) };
}

export async function rollOut(
  rel: RolloutSubject,
  policy: CanaryPolicy,
  cfg: SimConfig,
  source: IntervalSource = defaultSource(rel as Release, cfg),
): Promise<RolloutResult> {
  const driver = policy.begin(rel);
  const interval = source.interval_s;
  let weight = source.start ?? driver.start;
  let t = 0;
  let elapsed = 0;
  let exposure = 0;
  let steps = 0;
  let trafficSteps = 1;
  while (t < cfg.horizon_s) {
    const metrics = source.sample(weight, t);
    t += interval;
    elapsed += interval;
    exposure += (weight * interval) / 60;
    steps++;
    const a = await driver.step({ weight, elapsed_s: elapsed, t_s: t, risk: rel.risk, metrics });
    if (a.action === 'rollback')
      return { release: rel, outcome: 'rolled_back', steps, traffic_steps: trafficSteps, time_s: t, exposure };
    if (a.action === 'promote') {
      exposure += (100 * Math.max(0, cfg.horizon_s - t)) / 60;
      return {
        release: rel,
        outcome: 'promoted',
        steps,
        traffic_steps: trafficSteps + (weight < 100 ? 1 : 0),
        time_s: t,
        exposure,
      };
    }
    if (a.next_weight !== weight) {
      elapsed = 0;
      trafficSteps++;
    }
    weight = a.next_weight;
  }
  return { release: rel, outcome: 'unfinished', steps, traffic_steps: trafficSteps, time_s: t, exposure };
}

export interface PolicySummary {
  policy: string;
  bad_rolled_back: number;
  bad_count: number;
  /** Mean exposure of bad releases, percent·minutes over the horizon. */
  bad_exposure: number;
  good_rolled_back: number;
  good_count: number;
  good_promoted: number;
  /** Mean traffic steps, decisions and minutes to full traffic for promoted good releases. */
  good_steps: number;
  good_decisions: number;
  good_minutes: number;
  by_kind: Record<
    string,
    { rolled_back: number; promoted: number; count: number; exposure: number; decisions_to_full: number }
  >;
}

export async function simulate(
  policy: CanaryPolicy,
  cfg: SimConfig = DEFAULT_SIM,
  releases: RolloutSubject[] = makeReleases(cfg),
  sourceFor?: (rel: RolloutSubject) => IntervalSource,
): Promise<{ summary: PolicySummary; results: RolloutResult[] }> {
  const results: RolloutResult[] = [];
  for (const rel of releases) results.push(await rollOut(rel, policy, cfg, sourceFor?.(rel)));
  const bad = results.filter((x) => x.release.bad);
  const good = results.filter((x) => !x.release.bad);
  const promotedGood = good.filter((x) => x.outcome === 'promoted');
  const avg = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const byKind: PolicySummary['by_kind'] = {};
  for (const x of results) {
    const k = (byKind[x.release.kind] ??= { rolled_back: 0, promoted: 0, count: 0, exposure: 0, decisions_to_full: 0 });
    k.count++;
    if (x.outcome === 'rolled_back') k.rolled_back++;
    if (x.outcome === 'promoted') {
      k.promoted++;
      k.decisions_to_full += x.steps;
    }
    k.exposure += x.exposure / 1; // summed here, averaged below
  }
  for (const k of Object.values(byKind)) {
    k.exposure /= k.count;
    k.decisions_to_full = k.promoted ? k.decisions_to_full / k.promoted : NaN;
  }
  return {
    results,
    summary: {
      policy: policy.name,
      bad_rolled_back: bad.filter((x) => x.outcome === 'rolled_back').length / Math.max(1, bad.length),
      bad_count: bad.length,
      bad_exposure: avg(bad.map((x) => x.exposure)),
      good_rolled_back: good.filter((x) => x.outcome === 'rolled_back').length / Math.max(1, good.length),
      good_count: good.length,
      good_promoted: promotedGood.length / Math.max(1, good.length),
      good_steps: avg(promotedGood.map((x) => x.traffic_steps)),
      good_decisions: avg(promotedGood.map((x) => x.steps)),
      good_minutes: avg(promotedGood.map((x) => x.time_s / 60)),
      by_kind: byKind,
    },
  };
}
