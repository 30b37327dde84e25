import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibratorFromJSON, fitCalibrator } from '../../src/ml/calibration.ts';
import { brier } from '../../src/ml/metrics.ts';
import { rng } from './helpers.ts';

/** True probability q, reported score q^3 (badly over-confident towards 0). */
function miscalibrated(n: number, seed: number) {
  const r = rng(seed);
  const s: number[] = [],
    y: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = r();
    s.push(q ** 3);
    y.push(r() < q ? 1 : 0);
  }
  return { s, y };
}

for (const kind of ['isotonic', 'platt', 'auto'] as const) {
  test(`${kind} calibration is monotone, improves held-out Brier and round-trips`, () => {
    const fit = miscalibrated(3000, 1),
      held = miscalibrated(3000, 2);
    const cal = fitCalibrator(fit.s, fit.y, kind);
    let prev = -Infinity;
    for (let s = 0; s <= 1; s += 0.001) {
      const v = cal.apply(s);
      assert.ok(v >= prev - 1e-12, `not monotone at ${s}`);
      assert.ok(v >= 0 && v <= 1);
      prev = v;
    }
    const before = brier(held.y, held.s);
    const after = brier(
      held.y,
      held.s.map((v) => cal.apply(v)),
    );
    assert.ok(after < before - 0.01, `brier ${before} -> ${after}`);
    const back = calibratorFromJSON(JSON.parse(JSON.stringify(cal.toJSON())));
    assert.equal(back.kind, cal.kind);
    for (const s of [0, 0.01, 0.2, 0.5, 0.77, 1]) assert.equal(back.apply(s), cal.apply(s));
  });
}

test('single-class or tiny validation sets give the identity calibrator', () => {
  assert.equal(fitCalibrator([0.1, 0.2, 0.3], [1, 1, 1]).kind, 'identity');
  assert.equal(fitCalibrator(Array(50).fill(0.3), Array(50).fill(0)).kind, 'identity');
});

test('bad calibrator JSON and non-finite scores are rejected clearly', () => {
  assert.throws(() => calibratorFromJSON({ kind: 'magic' }), /calibrator.kind/);
  assert.throws(() => calibratorFromJSON({ kind: 'platt', a: 'x', b: 0 }), /calibrator.a\/b/);
  assert.throws(() => calibratorFromJSON({ kind: 'isotonic', x: [0, 1], y: [0.5, 0.2] }), /non-decreasing/);
  assert.throws(() => fitCalibrator([NaN, ...Array(30).fill(0.5)], Array(31).fill(0)), /scores\[0\] is not finite/);
});
