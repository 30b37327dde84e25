/**
 * The rollout policies the simulator compares, all driven through the same loop:
 *  - riskgate:     the controller in controller.ts (in process, or over HTTP against a running server);
 *  - fixed-steps:  5/25/75/100 % with fixed thresholds (error rate > 2 % or p95 > 1 s rolls back);
 *  - kayenta-mw:   Kayenta's judge — one fixed-sample Mann-Whitney per metric per interval, Hodges–Lehmann
 *                  effect against an allowed 10 % change, pass/marginal score 95/75, too little data passes.
 */
import { decide, EMPTY_STATE, type RolloutState } from './controller.ts';
import type { MetricInput } from './judge.ts';
import type { CanaryPolicy, RolloutDriver, RolloutSubject, StepAnswer, StepContext } from './simulator.ts';
import { hodgesLehmann, mannWhitneyP, mean, quantileSorted, rankCompare, sortedCopy } from './stats.ts';

const LADDER = [5, 25, 75, 100];

function ladderNext(w: number): number {
  return LADDER.find((x) => x > w) ?? 100;
}

/** Riskgate's first weight: a low-risk release starts at 10 %, others at 5 %. */
export function startWeight(risk: number): number {
  return risk < 0.3 ? 10 : 5;
}

export function riskgatePolicy(): CanaryPolicy {
  return {
    name: 'riskgate',
    begin(rel: RolloutSubject): RolloutDriver {
      let state: RolloutState = EMPTY_STATE;
      return {
        start: startWeight(rel.risk),
        step(ctx: StepContext): StepAnswer {
          const out = decide(
            { current_weight: ctx.weight, elapsed_s: ctx.elapsed_s, risk: ctx.risk, metrics: ctx.metrics },
            state,
          );
          state = out.state;
          return out.decision;
        },
      };
    },
  };
}

/** Drives a running Riskgate server's `POST /v1/canary/decision`, exactly as a pipeline would. */
/**
 * Simulated rollouts sent to a real server are stored under services named `simulated/…`: the dashboard
 * leaves them out (it says how many it hid), and canary decisions are not training data (only posted
 * outcomes are, and the simulator posts none).
 */
export const SIMULATED_SERVICE_PREFIX = 'simulated/';

export interface HttpPolicyOptions {
  /** Waits this long before a retry (a rate-limited answer's Retry-After, in ms). */
  sleep?: (ms: number) => Promise<void>;
  /** Told each time the server rate-limits the simulation. */
  onWait?: (ms: number) => void;
  /** The service name the rollouts are stored under (default `simulated/canary`). */
  service?: string;
}

export function httpPolicy(
  baseUrl: string,
  headers: Record<string, string> = {},
  o: HttpPolicyOptions = {},
): CanaryPolicy {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const service = o.service ?? `${SIMULATED_SERVICE_PREFIX}canary`;
  return {
    name: 'riskgate-http',
    begin(rel: RolloutSubject): RolloutDriver {
      const version = `sim-${rel.id}-${rel.seed}`;
      return {
        start: startWeight(rel.risk),
        async step(ctx: StepContext): Promise<StepAnswer> {
          const body = JSON.stringify({
            deployment: { service, version },
            current_weight: ctx.weight,
            elapsed_s: ctx.elapsed_s,
            risk: ctx.risk,
            metrics: ctx.metrics,
          });
          // A simulation sends hundreds of decisions; the server's rate limit (default burst 100, then
          // 600/min) answered the 101st with 429 and the run died. Honour Retry-After instead, a bounded
          // number of times in a row so a server that always refuses still ends the run.
          for (let attempt = 0; ; attempt++) {
            const res = await fetch(new URL('/v1/canary/decision', baseUrl), {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...headers },
              body,
            });
            if (res.status === 429 && attempt < 30) {
              await res.arrayBuffer();
              const s = Number(res.headers.get('retry-after'));
              const ms = Number.isFinite(s) && s > 0 ? Math.min(s, 60) * 1000 : 1000;
              o.onWait?.(ms);
              await sleep(ms);
              continue;
            }
            if (!res.ok) throw new Error(`decision endpoint answered ${res.status}: ${await res.text()}`);
            return (await res.json()) as StepAnswer;
          }
        },
      };
    },
  };
}

export function fixedStepsPolicy(): CanaryPolicy {
  return {
    name: 'fixed-steps',
    begin(): RolloutDriver {
      return {
        start: LADDER[0],
        step(ctx: StepContext): StepAnswer {
          const err = ctx.metrics.find((m) => m.name === 'error_rate');
          const p95 = ctx.metrics.find((m) => m.name === 'latency_p95');
          if ((err && mean(err.canary) > 0.02) || (p95 && mean(p95.canary) > 1000))
            return { action: 'rollback', next_weight: 0 };
          // 5 → 25 → 75 → 100: three decisions, the last one the promotion.
          if (ladderNext(ctx.weight) >= 100) return { action: 'promote', next_weight: 100 };
          return { action: 'increase', next_weight: ladderNext(ctx.weight) };
        },
      };
    },
  };
}

/** Kayenta's per-metric classification for one interval (NetflixACAJudge / MannWhitneyClassifier). */
export function kayentaClassify(m: MetricInput, alpha = 0.05, allowed = 0.1): 'Pass' | 'High' | 'Low' | 'NoData' {
  const c = sortedCopy(m.canary.filter(Number.isFinite));
  const b = sortedCopy(m.baseline.filter(Number.isFinite));
  if (c.length === 0 || b.length === 0) return 'NoData';
  // Kayenta needs ≥ 3 points for the test; fewer is reported as a pass, which is one of its weaknesses.
  if (c.length < 3 || b.length < 3) return 'Pass';
  const p = mannWhitneyP(rankCompare(c, b));
  if (p >= alpha) return 'Pass';
  const hl = hodgesLehmann(c, b).shift;
  const mb = quantileSorted(b, 0.5);
  const ratio = mb === 0 ? (hl === 0 ? 1 : Infinity * Math.sign(hl)) : (mb + hl) / mb;
  if (m.direction !== 'decrease' && ratio > 1 + allowed) return 'High';
  if (m.direction !== 'increase' && ratio < 1 - allowed) return 'Low';
  return 'Pass';
}

export function kayentaPolicy(pass = 95, marginal = 75): CanaryPolicy {
  return {
    name: 'kayenta-mw',
    begin(): RolloutDriver {
      return {
        start: LADDER[0],
        step(ctx: StepContext): StepAnswer {
          let total = 0;
          let ok = 0;
          let criticalFail = false;
          for (const m of ctx.metrics) {
            const cls = kayentaClassify(m, 0.05, m.max_change ?? 0.1);
            if (cls === 'NoData') continue;
            total += m.weight ?? 1;
            if (cls === 'Pass') ok += m.weight ?? 1;
            else if (m.critical) criticalFail = true;
          }
          const score = total ? (100 * ok) / total : 100;
          if (criticalFail || score < marginal) return { action: 'rollback', next_weight: 0 };
          if (score < pass) return { action: 'hold', next_weight: ctx.weight };
          if (ladderNext(ctx.weight) >= 100) return { action: 'promote', next_weight: 100 };
          return { action: 'increase', next_weight: ladderNext(ctx.weight) };
        },
      };
    },
  };
}
