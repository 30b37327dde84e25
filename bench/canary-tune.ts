/**
 * Tuning harness for the canary judge: runs Riskgate (only) on the family's TUNING_SEEDS and lists the bad
 * releases it promoted and the good ones it rolled back or promoted slowly, with each decision's action and
 * reasons. It refuses a report seed, so tuning never sees the seeds the bench reports on.
 * Run: node --import tsx bench/canary-tune.ts [--per-kind N] [--seeds 777,20261205] [--kinds tail-only,good-noisy] [-v]
 */
import { decide, EMPTY_STATE, type RolloutState } from '../src/canary/controller.ts';
import { startWeight } from '../src/canary/policies.ts';
import type { CanaryPolicy, RolloutDriver, RolloutSubject, StepAnswer, StepContext } from '../src/canary/simulator.ts';
import {
  FAMILY_BAD,
  FAMILY_GOOD,
  familyRow,
  makeFamily,
  REPORT_SEEDS,
  TUNING_SEEDS,
  type FamilyKind,
  type FamilyRelease,
} from '../src/canary/family.ts';

const arg = (k: string): string | undefined => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seeds = (arg('--seeds')?.split(',').map(Number) ?? [...TUNING_SEEDS]) as number[];
for (const s of seeds)
  if (REPORT_SEEDS.includes(s) || !TUNING_SEEDS.includes(s)) throw new Error(`seed ${s} is not a tuning seed`);
const perKind = Number(arg('--per-kind') ?? 40);
const kinds = (arg('--kinds')?.split(',') ?? [...FAMILY_GOOD, ...FAMILY_BAD]) as FamilyKind[];
const verbose = process.argv.includes('-v');

const traces = new Map<number, string[]>();
function tracing(): CanaryPolicy {
  return {
    name: 'riskgate',
    begin(rel: RolloutSubject): RolloutDriver {
      let state: RolloutState = EMPTY_STATE;
      const log: string[] = [];
      traces.set(rel.id, log);
      return {
        start: startWeight(rel.risk),
        step(ctx: StepContext): StepAnswer {
          const out = decide(
            { current_weight: ctx.weight, elapsed_s: ctx.elapsed_s, risk: ctx.risk, metrics: ctx.metrics },
            state,
          );
          state = out.state;
          const d = out.decision;
          log.push(
            `  @${ctx.weight}% ${d.action}→${d.next_weight} ${d.verdict} | ${d.metrics.map((m) => `${m.name}:${m.classification}${m.p_value < 0.2 ? `(p${m.p_value.toFixed(3)})` : ''}`).join(' ')}${verbose ? '\n     ' + d.reasons.join(' / ') : ''}`,
          );
          return d;
        },
      };
    },
  };
}

const hist: number[] = [];
const held = new Map<string, number>();
const tot = { bad: 0, caught: 0, good: 0, falseRb: 0, toFull: 0, promoted: 0 };
for (const seed of seeds) {
  const rel = makeFamily(seed, perKind, kinds);
  traces.clear();
  const row = await familyRow(tracing(), rel);
  const parts = Object.entries(row.by_kind).map(([k, v]) =>
    v.bad
      ? `${k} ${((100 * v.rolled_back) / v.count).toFixed(1)}`
      : `${k} rb ${v.rolled_back} full ${v.decisions_to_full.toFixed(2)}`,
  );
  console.log(
    `seed ${seed}: caught ${(100 * row.bad_caught).toFixed(1)} % false ${(100 * row.good_rolled_back).toFixed(1)} % exposure ${row.bad_exposure.toFixed(0)} to-full ${row.good_decisions_to_full.toFixed(2)} | ${parts.join(', ')}`,
  );
  const { simulateFamily } = await import('../src/canary/family.ts');
  traces.clear();
  const { results } = await simulateFamily(tracing(), rel);
  for (const x of results) {
    const r = x.release as FamilyRelease;
    const b = r.bad;
    tot.bad += b ? 1 : 0;
    tot.good += b ? 0 : 1;
    if (b && x.outcome === 'rolled_back') tot.caught++;
    if (!b && x.outcome === 'rolled_back') tot.falseRb++;
    if (!b && x.outcome === 'promoted') {
      tot.promoted++;
      tot.toFull += x.steps;
    }
    if (!b && x.outcome === 'promoted') hist[Math.min(x.steps, 9)] = (hist[Math.min(x.steps, 9)] ?? 0) + 1;
    // Why a good release was not promoted at decision 2: the open metrics and tests at that decision.
    if (!b && x.steps > 2)
      for (const w of (traces.get(r.id)![1] ?? '').matchAll(/(\w+):(Inconclusive|NoData)/g))
        held.set(
          `${r.scenario.metrics.find((m) => m.name === w[1])?.kind ?? w[1]}:${w[2]}`,
          (held.get(`${r.scenario.metrics.find((m) => m.name === w[1])?.kind ?? w[1]}:${w[2]}`) ?? 0) + 1,
        );
    const show = (b && x.outcome !== 'rolled_back') || (!b && (x.outcome !== 'promoted' || (verbose && x.steps > 3)));
    if (show) {
      const sc = r.scenario;
      const reg = sc.regression;
      console.log(
        `${r.kind} #${r.id} risk ${r.risk.toFixed(2)} ${x.outcome} after ${x.steps}; ${sc.samples} samples/${sc.interval_s}s, metrics ${sc.metrics.map((m) => `${m.name}${m.agg ? '/' + m.agg : ''}${m.critical ? '!' : ''}`).join(',')}` +
          (reg
            ? `; reg on ${sc.metrics[reg.metric].name} onset ${reg.onset_s.toFixed(0)}s factor ${reg.factor.toFixed(3)}${reg.fraction ? ` fraction ${reg.fraction.toFixed(3)}` : ''}${reg.rate ? ` rate ${reg.rate.toFixed(4)}` : ''}`
            : ` noise burst ${sc.burst.toFixed(3)} harmless ${sc.harmless.toFixed(3)}`),
      );
      console.log(traces.get(r.id)!.join('\n'));
    }
  }
}
console.log(
  `good decisions to full: ${hist
    .map((n, i) => `${i}:${n}`)
    .filter(Boolean)
    .join(' ')}; open at decision 2 of slow ones: ${[...held]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}`,
);
console.log(
  `ALL: caught ${((100 * tot.caught) / tot.bad).toFixed(2)} % (${tot.bad - tot.caught} missed of ${tot.bad}), false ${((100 * tot.falseRb) / tot.good).toFixed(2)} % (${tot.falseRb}), to-full ${(tot.toFull / tot.promoted).toFixed(3)}`,
);
