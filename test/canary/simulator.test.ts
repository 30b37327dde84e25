import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedStepsPolicy, kayentaPolicy, riskgatePolicy } from '../../src/canary/policies.ts';
import { DEFAULT_SIM, makeReleases, simulate } from '../../src/canary/simulator.ts';

const cfg = { ...DEFAULT_SIM, perKind: 12, seed: 5 };

test('simulation is deterministic for a seed', async () => {
  const a = await simulate(riskgatePolicy(), { ...cfg, perKind: 3 });
  const b = await simulate(riskgatePolicy(), { ...cfg, perKind: 3 });
  assert.deepEqual(a.summary, b.summary);
  assert.notDeepEqual(makeReleases({ ...cfg, seed: 6 }), makeReleases(cfg));
});

test('riskgate rolls back every bad kind, keeps good releases, and beats both baselines on exposure', async () => {
  const ours = (await simulate(riskgatePolicy(), cfg)).summary;
  const fixed = (await simulate(fixedStepsPolicy(), cfg)).summary;
  const kay = (await simulate(kayentaPolicy(), cfg)).summary;
  assert.equal(ours.bad_rolled_back, 1, JSON.stringify(ours.by_kind));
  assert.equal(ours.good_rolled_back, 0);
  assert.ok(ours.bad_exposure < fixed.bad_exposure && ours.bad_exposure < kay.bad_exposure);
  assert.ok(ours.good_steps < fixed.good_steps, `${ours.good_steps} vs ${fixed.good_steps}`);
  // The baselines really do miss some kinds — otherwise the comparison would be vacuous.
  assert.ok(
    fixed.by_kind.memory_leak.rolled_back === 0 &&
      kay.by_kind.rising_variance.rolled_back < kay.by_kind.rising_variance.count,
  );
});
