import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_JUDGE, judgeMetric, observe, type MetricEvidence, type MetricInput } from '../../src/canary/judge.ts';
import { createRng, type Rng } from '../../src/simulate/prng.ts';

const OFF = { ...DEFAULT_JUDGE, latestTailE: Infinity, latestZ: Infinity, trendZ: Infinity };
const lognormal = (r: Rng, n: number, slow = 0, factor = 1): number[] =>
  Array.from({ length: n }, () => 100 * Math.exp(0.4 * r.normal()) * (r.next() < slow ? factor : 1));

function run(looks: MetricInput[], cfg = DEFAULT_JUDGE): ReturnType<typeof judgeMetric>['result'] {
  let ev: MetricEvidence | undefined;
  let res!: ReturnType<typeof judgeMetric>['result'];
  for (const m of looks) ({ evidence: ev, result: res } = judgeMetric(m, ev, cfg));
  return res;
}

test('a tail regression that starts in the latest look holds a pass the pooled evidence would give', () => {
  let held = 0;
  let passedWithout = 0;
  for (let s = 0; s < 40; s++) {
    const r = createRng(500 + s);
    const clean = (): MetricInput => ({
      name: 'p99',
      direction: 'increase',
      baseline: lognormal(r, 30),
      canary: lognormal(r, 30),
    });
    // Two clean looks, then 20 % of requests 5× slower (a cache that expired during the third interval).
    const looks = [
      clean(),
      clean(),
      { name: 'p99', direction: 'increase' as const, baseline: lognormal(r, 30), canary: lognormal(r, 30, 0.2, 5) },
    ];
    const without = run(looks, OFF);
    const withHold = run(looks);
    if (without.classification === 'Pass') passedWithout++;
    if (without.classification === 'Pass' && withHold.classification !== 'Pass') {
      held++;
      assert.match(withHold.reason, /latest look leans toward harm/);
    }
    // It only ever holds: never a regression that the pooled evidence did not show.
    assert.equal(withHold.classification === 'High', without.classification === 'High');
  }
  assert.ok(passedWithout >= 5, `the pooled evidence alone passed ${passedWithout} of 40`);
  // Measured: 13 of 32 (one 30-sample look of e ≥ 8 needs about 5 of the 6 slow requests in the pooled top 10 %).
  assert.ok(held >= 0.25 * passedWithout, `held ${held} of the ${passedWithout} the pooled evidence passed`);
});

test('a leak within the look is a trend against the baseline; a drift both sides share is not', () => {
  const r = createRng(9);
  const n = 30;
  const leak = Array.from({ length: n }, (_, i) => 1000 * (1 + 0.03 * (i / n)) * (1 + 0.004 * r.normal()));
  const flat = Array.from({ length: n }, () => 1000 * (1 + 0.004 * r.normal()));
  const t = observe(leak, flat, 'increase', 5, 0.05).trend!;
  assert.ok(t.z > 5 && Math.abs(t.perLook - 0.03) < 0.01, JSON.stringify(t));
  const res = judgeMetric(
    { name: 'memory', direction: 'increase', max_change: 0.05, baseline: flat, canary: leak },
    undefined,
  ).result;
  assert.notEqual(res.classification, 'Pass');
  const shared = Array.from({ length: n }, (_, i) => 1000 * (1 + 0.03 * (i / n)) * (1 + 0.004 * r.normal()));
  const u = observe(leak, shared, 'increase', 5, 0.05).trend!;
  assert.ok(Math.abs(u.z) < 3, `shared drift cancels: z ${u.z}`);
});

test('on exchangeable looks the latest-look hold fires rarely (it costs good releases a look)', () => {
  const r = createRng(31);
  let fired = 0;
  const N = 1500;
  for (let i = 0; i < N; i++) {
    const m: MetricInput = { name: 'lat', direction: 'increase', baseline: lognormal(r, 30), canary: lognormal(r, 30) };
    if (/latest look leans/.test(judgeMetric(m, undefined).result.reason)) fired++;
  }
  // Measured 3 of 1,500 (0.2 %) per metric and look: tail e ≥ 8, z ≥ 2.5 with half the allowed change, trend z ≥ 3.
  assert.ok(fired / N < 0.01, `fired on ${fired} of ${N} null looks`);
});

test('each tail-pass component alone is valid at alphaPass when the canary really has odds ψ (intersection-union)', async () => {
  const { exceedanceE } = await import('../../src/canary/sequential.ts');
  const { TAIL_PSI } = await import('../../src/canary/judge.ts');
  const r = createRng(77);
  const [m, n, rr] = [30, 30, 12]; // the pooled top 20 % of two 30-sample sides
  const choose = (a: number, b: number): number => {
    let x = 1;
    for (let i = 0; i < b; i++) x = (x * (a - i)) / (i + 1);
    return x;
  };
  const w = TAIL_PSI.map(() => 1 / TAIL_PSI.length);
  for (const g of [0, 1]) {
    const psi = TAIL_PSI[g];
    // Fisher's non-central hypergeometric with odds ψ: the count of canary samples in the tail under the alternative.
    const pmf = Array.from({ length: rr + 1 }, (_, k) => choose(m, k) * choose(n, rr - k) * psi ** k);
    const z = pmf.reduce((a, b) => a + b, 0);
    const alpha = 0.2;
    let passed = 0;
    const runs = 3000;
    const each: number[] = [];
    for (let i = 0; i < runs; i++) {
      let log = 0;
      for (let look = 0; look < 10; look++) {
        let u = r.next() * z;
        let k = 0;
        while (k < rr && (u -= pmf[k]) > 0) k++;
        exceedanceE(k, rr, m, n, TAIL_PSI, w, each);
        log += Math.log(each[g]);
        if (log <= Math.log(alpha)) {
          passed++;
          break;
        }
      }
    }
    // Ville: a wrong pass over all ten looks at most alpha, per component.
    assert.ok(passed / runs <= alpha + 0.02, `ψ=${psi}: passed ${passed} of ${runs}`);
  }
});
