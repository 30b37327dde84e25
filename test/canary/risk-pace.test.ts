import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, EMPTY_STATE, VERY_LOW_RISK, VERY_LOW_RISK_ALPHA_PASS } from '../../src/canary/controller.ts';
import { DEFAULT_JUDGE, type MetricInput } from '../../src/canary/judge.ts';
import { createRng } from '../../src/simulate/prng.ts';

const look = (seed: number, n = 30): MetricInput[] => {
  const r = createRng(seed);
  const ln = (): number[] => Array.from({ length: n }, () => 100 * Math.exp(0.3 * r.normal()));
  return [{ name: 'latency', direction: 'increase', critical: true, baseline: ln(), canary: ln() }];
};

test('a very low predicted risk passes at the looser level, and only that', () => {
  assert.ok(VERY_LOW_RISK_ALPHA_PASS > DEFAULT_JUDGE.alphaPass);
  let differed = 0;
  for (let s = 0; s < 60; s++) {
    const run = (risk: number) => {
      let st = EMPTY_STATE;
      let w = 5;
      const out = [];
      for (let i = 0; i < 2; i++) {
        const d = decide({ current_weight: w, elapsed_s: 60, risk, metrics: look(1000 * s + i) }, st);
        st = d.state;
        w = d.decision.next_weight;
        out.push(d.decision);
      }
      return out;
    };
    const low = run(VERY_LOW_RISK);
    const mid = run(VERY_LOW_RISK + 0.05);
    for (let i = 0; i < 2; i++) {
      // The pass level in effect shows in the confidence of a passing decision: (1 − alphaPass) × score.
      if (low[i].verdict === 'pass')
        assert.ok(Math.abs(low[i].confidence - (1 - VERY_LOW_RISK_ALPHA_PASS) * (low[i].score / 100)) < 1e-9);
      if (mid[i].verdict === 'pass')
        assert.ok(Math.abs(mid[i].confidence - (1 - DEFAULT_JUDGE.alphaPass) * (mid[i].score / 100)) < 1e-9);
      // A looser pass never turns a pass into something else.
      if (mid[i].verdict === 'pass' && i === 0) assert.equal(low[i].verdict, 'pass');
    }
    if (low[0].verdict === 'pass' && mid[0].verdict !== 'pass') differed++;
  }
  assert.ok(differed > 0, 'the looser level passed some first looks the default did not');
});
