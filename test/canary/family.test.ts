import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAMILY_BAD, familyRow, makeFamily, REPORT_SEEDS, TUNING_SEEDS } from '../../src/canary/family.ts';
import { fixedStepsPolicy, kayentaPolicy, riskgatePolicy } from '../../src/canary/policies.ts';

test('the family is deterministic, report and tuning seeds are disjoint, and every regression hits a metric', () => {
  assert.ok(REPORT_SEEDS.length >= 5 && new Set(REPORT_SEEDS).size === REPORT_SEEDS.length);
  for (const s of REPORT_SEEDS) assert.ok(!TUNING_SEEDS.includes(s), `report seed ${s} is a tuning seed`);
  assert.deepEqual(makeFamily(TUNING_SEEDS[0], 3), makeFamily(TUNING_SEEDS[0], 3));
  const rel = makeFamily(TUNING_SEEDS[1], 30);
  for (const r of rel) {
    assert.ok(r.scenario.samples >= 8 && r.scenario.samples <= 60);
    assert.equal(r.scenario.metrics[0].name, 'error_rate');
    assert.equal(r.scenario.metrics[0].critical, true);
    if (FAMILY_BAD.includes(r.kind))
      assert.ok(
        r.scenario.regression &&
          r.scenario.regression.metric >= 0 &&
          r.scenario.regression.metric < r.scenario.metrics.length,
        r.kind,
      );
    else assert.equal(r.scenario.regression, undefined);
  }
  // The held-out simulator's setting is covered: one 60 s interval, 30 samples, 4 metrics, only error rate critical.
  const held = rel.filter((r) => r.scenario.heldOutSetting);
  assert.ok(held.length > rel.length / 5);
  for (const r of held) {
    assert.equal(r.scenario.interval_s, 60);
    assert.equal(r.scenario.samples, 30);
    assert.equal(r.scenario.metrics.length, 4);
    assert.deepEqual(
      r.scenario.metrics.map((m) => m.critical),
      [true, false, false, false],
    );
  }
  // Settings really vary.
  assert.ok(new Set(rel.map((r) => r.scenario.samples)).size >= 4);
  assert.ok(new Set(rel.flatMap((r) => r.scenario.metrics.map((m) => m.direction))).size === 2);
});

test('on a small tuning-seed family riskgate catches more bad releases with less exposure than both baselines', async () => {
  const rel = makeFamily(TUNING_SEEDS[2], 6);
  const ours = await familyRow(riskgatePolicy(), rel);
  const fixed = await familyRow(fixedStepsPolicy(), rel);
  const kay = await familyRow(kayentaPolicy(), rel);
  assert.ok(ours.bad_caught >= 0.9, `caught ${ours.bad_caught}`);
  assert.ok(ours.bad_caught > fixed.bad_caught && ours.bad_caught > kay.bad_caught);
  assert.ok(ours.bad_exposure < fixed.bad_exposure && ours.bad_exposure < kay.bad_exposure);
  assert.equal(fixed.good_decisions_to_full, 3, '5/25/75/100 is three decisions');
  assert.ok(
    ours.by_kind['tail-only'].rolled_back >= ours.by_kind['tail-only'].count - 1,
    JSON.stringify(ours.by_kind['tail-only']),
  );
});

test('good releases looked at 20 times each are almost never failed: the bounds hold over repeated looks', async () => {
  const { judge } = await import('../../src/canary/judge.ts');
  const { familySource } = await import('../../src/canary/family.ts');
  const rel = makeFamily(TUNING_SEEDS[3], 60, ['good-clean', 'good-noisy']);
  let failed = 0;
  for (const r of rel) {
    const src = familySource(r);
    let evidence = {};
    for (let look = 0; look < 20; look++) {
      // Held at 25 % throughout: every look is judged, none ends the rollout early.
      const j = judge(src.sample(25, look * src.interval_s), evidence);
      evidence = j.evidence;
      if (j.verdict === 'fail') {
        failed++;
        break;
      }
    }
  }
  assert.ok(failed / rel.length <= 0.01, `${failed} of ${rel.length} good releases failed within 20 looks`);
});
