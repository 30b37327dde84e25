import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, EMPTY_STATE } from '../../src/canary/controller.ts';
import { DEFAULT_JUDGE, judgeMetric, tailLogE, type MetricEvidence, type MetricInput } from '../../src/canary/judge.ts';
import {
  addLook,
  boundRadius,
  confidenceSequence,
  csRadius,
  EMPTY_EVIDENCE,
  exceedanceE,
  pooled,
} from '../../src/canary/sequential.ts';
import { createRng } from '../../src/simulate/prng.ts';

const choose = (a: number, b: number): number => {
  let x = 1;
  for (let i = 0; i < b; i++) x = (x * (a - i)) / (i + 1);
  return x;
};

test('the exceedance e-value has expectation exactly 1 under exchangeability and grows with the canary count', () => {
  const psi = [1, 3, 10, 30];
  const w = [0.25, 0.25, 0.25, 0.25];
  for (const [m, n, r] of [
    [30, 30, 3],
    [30, 30, 12],
    [8, 200, 20],
    [300, 300, 120],
    [5, 5, 9],
  ]) {
    let expect = 0;
    let prev = 0;
    for (let k = Math.max(0, r - n); k <= Math.min(r, m); k++) {
      const e = exceedanceE(k, r, m, n, psi, w);
      assert.ok(e >= prev, `e-value increases with k (m=${m} n=${n} r=${r} k=${k})`);
      prev = e;
      expect += (choose(m, k) * choose(n, r - k) * e) / choose(m + n, r);
    }
    assert.ok(Math.abs(expect - 1) < 1e-9, `E0[e] = ${expect} for m=${m} n=${n} r=${r}`);
  }
});

test('alpha spending tightens the early looks and the combined bound keeps false alarms below alpha over 30 looks', () => {
  const V = 1 / 180; // one 30-vs-30 Mann-Whitney look
  assert.ok(boundRadius(V, 0.1, 0.2, 1) < 0.75 * csRadius(V, 0.1, 0.2), 'one look: spending beats the mixture');
  const r = createRng(7);
  const alpha = 0.05;
  let alarms = 0;
  const runs = 2000;
  for (let i = 0; i < runs; i++) {
    let ev = EMPTY_EVIDENCE;
    for (let l = 0; l < 30; l++) {
      const v = 0.002 + 0.01 * r.next();
      ev = addLook(ev, Math.sqrt(v) * r.normal(), v, 0);
      const cs = confidenceSequence(ev, alpha, 0.2, ev.looks)!;
      if (cs.lower > 0 || cs.upper < 0) {
        alarms++;
        break;
      }
    }
  }
  assert.ok(alarms / runs <= alpha, `false-alarm rate ${alarms / runs}`);
  assert.ok(pooled(ev0()) === undefined);
});
const ev0 = () => EMPTY_EVIDENCE;

/** Per-request latencies: log-normal, with a share `slow` of requests `factor` times slower on the canary. */
function requests(r: ReturnType<typeof createRng>, n: number, slow = 0, factor = 1, heavy = 0): number[] {
  return Array.from({ length: n }, () => {
    let x = 100 * Math.exp(0.4 * r.normal());
    if (heavy && r.next() < heavy) x *= Math.pow(1 - r.next(), -1 / 1.8); // Pareto tail, both sides
    if (r.next() < slow) x *= factor;
    return x;
  });
}

test('a tail-only regression (10 % of requests 5× slower, median unchanged) is caught within 20 looks of 30 samples', () => {
  const r = createRng(11);
  let caught = 0;
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    let ev: MetricEvidence | undefined;
    // Three slow samples a look grow the e-process about 3.7× a look (median) against a bar of 1/(alphaHarm/3) = 3000.
    for (let look = 0; look < 20; look++) {
      const m: MetricInput = {
        name: 'latency',
        direction: 'increase',
        critical: true,
        baseline: requests(r, 30),
        canary: requests(r, 30, 0.1, 5),
      };
      const out = judgeMetric(m, ev);
      ev = out.evidence;
      if (out.result.classification === 'High') {
        caught++;
        break;
      }
    }
  }
  assert.ok(caught / runs >= 0.9, `caught ${caught} of ${runs}`);
});

test('heavy-tailed, bursty good releases do not trip the tail test over 20 looks (Ville)', () => {
  const r = createRng(12);
  let alarms = 0;
  const runs = 300;
  for (let i = 0; i < runs; i++) {
    let ev: MetricEvidence | undefined;
    for (let look = 0; look < 20; look++) {
      // The same Pareto share and a burst hitting either side alike: exchangeable, as a noisy good release is.
      const burst = (xs: number[]) => xs.map((x) => (r.next() < 0.05 ? 2.5 * x : x));
      const m: MetricInput = {
        name: 'latency',
        direction: 'increase',
        baseline: burst(requests(r, 30, 0, 1, 0.05)),
        canary: burst(requests(r, 30, 0, 1, 0.05)),
      };
      const out = judgeMetric(m, ev);
      ev = out.evidence;
      if (out.result.tests.tail.harmful) {
        alarms++;
        break;
      }
    }
  }
  // alphaHarm / 3 per test in theory; allow the simulation's own noise but stay far under 1 %.
  assert.ok(alarms / runs <= 0.005, `tail false alarms ${alarms} of ${runs}`);
});

test('a canary up to max_change slower throughout is not a tail regression (the canary is shrunk by it)', () => {
  const r = createRng(13);
  let ev: MetricEvidence | undefined;
  for (let look = 0; look < 30; look++) {
    const m: MetricInput = {
      name: 'latency',
      direction: 'increase',
      baseline: requests(r, 60),
      canary: requests(r, 60).map((x) => 1.08 * x),
    };
    ev = judgeMetric(m, ev).evidence;
  }
  assert.ok(tailLogE(ev!.tail_log) < Math.log(1 / (DEFAULT_JUDGE.alphaHarm / 3)), `log e ${tailLogE(ev!.tail_log)}`);
});

test('the answer says when evidence is too thin, and by how much', () => {
  const r = createRng(14);
  const metrics: MetricInput[] = [
    { name: 'latency', direction: 'increase', critical: true, baseline: requests(r, 8), canary: requests(r, 8) },
  ];
  const out = decide({ current_weight: 5, elapsed_s: 60, risk: 0.1, metrics }, EMPTY_STATE);
  const m = out.decision.metrics[0];
  assert.equal(m.sufficiency.thin, true);
  assert.ok(m.sufficiency.effective_samples < m.sufficiency.needed, JSON.stringify(m.sufficiency));
  assert.match(m.reason, /too thin/);
  assert.match(out.decision.reasons.join(' '), /evidence too thin to show latency .*harmless/);
  assert.notEqual(out.decision.action, 'promote');
  // 30-sample looks of identical distributions are not thin once enough have accumulated.
  let st = EMPTY_STATE;
  let last = out.decision;
  for (let i = 0; i < 3; i++) {
    const d = decide(
      {
        current_weight: 50,
        elapsed_s: 60,
        risk: 0.1,
        metrics: [{ ...metrics[0], baseline: requests(r, 30), canary: requests(r, 30) }],
      },
      st,
    );
    st = d.state;
    last = d.decision;
  }
  assert.equal(last.metrics[0].sufficiency.thin, false);
});

test('metrics named like Object.prototype members accumulate evidence like any other', () => {
  const r = createRng(15);
  let st = EMPTY_STATE;
  for (let i = 0; i < 2; i++) {
    const metrics: MetricInput[] = ['__proto__', 'constructor', 'toString'].map((name) => ({
      name,
      direction: 'increase',
      baseline: requests(r, 30),
      canary: requests(r, 30),
    }));
    st = decide({ current_weight: 5, elapsed_s: 60, risk: 0.1, metrics }, st).state;
  }
  // as the service stores it
  const stored = JSON.parse(JSON.stringify(st.evidence)) as Record<string, MetricEvidence>;
  for (const name of ['__proto__', 'constructor', 'toString']) {
    assert.ok(Object.hasOwn(stored, name), name);
    assert.equal(stored[name].location?.looks, 2, name);
  }
});
