import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide, DEFAULT_MARGINS } from '../../training/challenger.ts';
import { marginsFromEnv } from '../../src/config/background.ts';

const champ = { pr_auc: 0.6, f1: 0.55, brier: 0.15 };

test('promotes a challenger that clears the PR-AUC margin without losing F1 or calibration', () => {
  const d = decide({ champion: champ, challenger: { pr_auc: 0.62, f1: 0.545, brier: 0.1505 } });
  assert.equal(d.promote, true);
  assert.ok(Math.abs(d.numbers.pr_auc_gain! - 0.02) < 1e-12);
});

test('rejects on each rule separately and says which one failed', () => {
  const small = decide({ champion: champ, challenger: { pr_auc: 0.603, f1: 0.6, brier: 0.1 } });
  assert.equal(small.promote, false);
  assert.match(small.reasons[0], /not enough/);
  const f1 = decide({ champion: champ, challenger: { pr_auc: 0.7, f1: 0.52, brier: 0.1 } });
  assert.equal(f1.promote, false);
  assert.match(f1.reasons[1], /loses too much/);
  const brier = decide({ champion: champ, challenger: { pr_auc: 0.7, f1: 0.6, brier: 0.152 } });
  assert.equal(brier.promote, false);
  assert.match(brier.reasons[2], /worse calibrated/);
});

test('margins are configurable; no champion means promote; NaN challenger never promotes', () => {
  assert.equal(
    decide({ champion: champ, challenger: { pr_auc: 0.603, f1: 0.55, brier: 0.15 }, margins: { minPrAucGain: 0.001 } })
      .promote,
    true,
  );
  assert.equal(decide({ champion: null, challenger: champ }).promote, true);
  assert.equal(decide({ champion: null, challenger: { ...champ, pr_auc: NaN } }).promote, false);
});

test('property: a promotion always satisfies all three conditions', () => {
  const m = fc.record({
    pr_auc: fc.double({ min: 0, max: 1, noNaN: true }),
    f1: fc.double({ min: 0, max: 1, noNaN: true }),
    brier: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  fc.assert(
    fc.property(m, m, (a, b) => {
      const d = decide({ champion: a, challenger: b });
      const ok =
        b.pr_auc - a.pr_auc >= DEFAULT_MARGINS.minPrAucGain &&
        a.f1 - b.f1 <= DEFAULT_MARGINS.maxF1Loss &&
        b.brier - a.brier <= DEFAULT_MARGINS.brierTolerance;
      return d.promote === ok;
    }),
  );
});

test('margins from the environment are validated with the variable named', () => {
  assert.equal(marginsFromEnv({ RISKGATE_PROMOTE_MIN_PR_AUC_GAIN: '0.02' }).minPrAucGain, 0.02);
  assert.throws(() => marginsFromEnv({ RISKGATE_PROMOTE_MAX_F1_LOSS: 'lots' }), /RISKGATE_PROMOTE_MAX_F1_LOSS/);
});
