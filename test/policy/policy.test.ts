import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_POLICY_CONFIG,
  backoffDelay,
  decidePolicy,
  riskLevelFor,
  standardPolicy,
} from '../../src/policy/index.ts';
import { findWindow, localClock, parseWindows } from '../../src/policy/windows.ts';
import type { PolicyConfig, StrategyName } from '../../src/policy/types.ts';

// 2024-05-08 is a Wednesday.
const WED_NOON = new Date('2024-05-08T12:00:00Z');
const FRI_EVENING = new Date('2024-05-10T18:30:00Z');
const MON_EARLY = new Date('2024-05-13T06:00:00Z');
const base = { now: WED_NOON, timezone: 'UTC' };
const actions = (p: ReturnType<typeof decidePolicy>) => p.mitigations.map((m) => m.action);

test('risk levels: high above 0.7, medium above 0.3, configurable', () => {
  assert.equal(riskLevelFor(0.71), 'high');
  assert.equal(riskLevelFor(0.7), 'medium');
  assert.equal(riskLevelFor(0.31), 'medium');
  assert.equal(riskLevelFor(0.3), 'low');
  assert.equal(riskLevelFor(0.8, { medium: 0.5, high: 0.9 }), 'medium');
});

test('strategy follows the risk level on an ordinary weekday', () => {
  assert.equal(decidePolicy({ ...base, probability: 0.1, riskLevel: 'low' }).strategy.name, 'aggressive');
  assert.equal(decidePolicy({ ...base, probability: 0.5, riskLevel: 'medium' }).strategy.name, 'standard');
  const high = decidePolicy({ ...base, probability: 0.8, riskLevel: 'high' });
  assert.equal(high.strategy.name, 'conservative');
  assert.deepEqual(high.strategy.env, {
    EXTRA_RETRIES: 'true',
    EXTENDED_TIMEOUTS: 'true',
    PARALLEL_BUILDS: 'false',
    CACHE_PREWARMING: 'true',
    SKIP_OPTIONAL_CHECKS: 'false',
  });
  assert.equal(decidePolicy({ ...base, probability: 0.1, riskLevel: 'low' }).strategy.env.SKIP_OPTIONAL_CHECKS, 'true');
});

test('riskier means more attempts and longer caps, with jitter', () => {
  const low = decidePolicy({ ...base, probability: 0.1, riskLevel: 'low' }).retry;
  const med = decidePolicy({ ...base, probability: 0.5, riskLevel: 'medium' }).retry;
  const high = decidePolicy({ ...base, probability: 0.8, riskLevel: 'high' }).retry;
  assert.ok(low.max_attempts < med.max_attempts && med.max_attempts < high.max_attempts);
  assert.ok(low.max_delay_ms < med.max_delay_ms && med.max_delay_ms < high.max_delay_ms);
  assert.ok(high.jitter > 0);
});

test('Friday evening and Monday early morning push one step toward conservative (time zone aware)', () => {
  const fri = decidePolicy({ probability: 0.1, riskLevel: 'low', now: FRI_EVENING, timezone: 'UTC' });
  assert.equal(fri.strategy.name, 'standard');
  assert.equal(fri.time.high_risk_period, 'Fri 16:00-24:00');
  assert.match(fri.strategy.reasons.join(' '), /high-risk period/);
  assert.equal(
    decidePolicy({ probability: 0.5, riskLevel: 'medium', now: MON_EARLY, timezone: 'UTC' }).strategy.name,
    'conservative',
  );
  // 06:00 UTC on Monday is Sunday 23:00 in Los Angeles: not a high-risk period there.
  const la = decidePolicy({ probability: 0.1, riskLevel: 'low', now: MON_EARLY, timezone: 'America/Los_Angeles' });
  assert.equal(la.strategy.name, 'aggressive');
  assert.match(la.time.local, /^Sun 23:00 America\/Los_Angeles$/);
  const highFri = decidePolicy({ probability: 0.8, riskLevel: 'high', now: FRI_EVENING, timezone: 'UTC' });
  assert.ok(actions(highFri).includes('require_manual_approval'));
});

test('a maintenance window forces conservative and longer delays', () => {
  const config: PolicyConfig = { ...DEFAULT_POLICY_CONFIG, maintenanceWindows: parseWindows('Wed 11:00-13:00') };
  const p = decidePolicy({ ...base, probability: 0.05, riskLevel: 'low', config });
  assert.equal(p.strategy.name, 'conservative');
  assert.equal(p.time.maintenance_window, 'Wed 11:00-13:00');
  assert.ok(actions(p).includes('increase_timeouts'));
  assert.ok(p.retry.max_delay_ms > decidePolicy({ ...base, probability: 0.05, riskLevel: 'low' }).retry.max_delay_ms);
});

test('mitigations carry the reason that triggered them', () => {
  const p = decidePolicy({
    ...base,
    probability: 0.95,
    riskLevel: 'high',
    serviceHealth: { 'gha-cache': 0.2, 'npm-registry': 0.7 },
    change: { files_changed: 120, churn: 5000, touches_deps: true },
  });
  const byAction = Object.fromEntries(p.mitigations.map((m) => [m.action, m.reason]));
  assert.deepEqual(Object.keys(byAction).sort(), [
    'enable_extra_retries',
    'increase_timeouts',
    'require_manual_approval',
    'split_build_into_chunks',
    'use_alternative_cache',
    'warm_cache_preemptively',
  ]);
  assert.match(byAction.use_alternative_cache, /gha-cache=0.2/);
  assert.match(byAction.split_build_into_chunks, /120 files/);
  assert.match(byAction.require_manual_approval, /p=0.95/);
  assert.equal(p.retry.max_attempts, 5, 'a degraded dependency earns one more attempt');
  const calm = decidePolicy({ ...base, probability: 0.05, riskLevel: 'low' });
  assert.deepEqual(calm.mitigations, []);
  const cacheOnly = decidePolicy({
    ...base,
    probability: 0.05,
    riskLevel: 'low',
    serviceHealth: { 'actions-cache': 0.6 },
  });
  assert.deepEqual(actions(cacheOnly), ['enable_extra_retries', 'warm_cache_preemptively']);
  assert.equal(cacheOnly.strategy.name, 'standard');
});

test('property: a higher probability never yields a laxer policy', () => {
  const rank: Record<StrategyName, number> = { aggressive: 0, standard: 1, conservative: 2 };
  const when = fc.date({
    min: new Date('2024-01-01T00:00:00Z'),
    max: new Date('2025-01-01T00:00:00Z'),
    noInvalidDate: true,
  });
  const health = fc.option(
    fc.dictionary(fc.constantFrom('gha-cache', 'npm', 'github-api'), fc.double({ min: 0, max: 1, noNaN: true })),
    { nil: undefined },
  );
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      when,
      health,
      fc.boolean(),
      (a, b, now, serviceHealth, deps) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const mk = (p: number) =>
          decidePolicy({
            probability: p,
            riskLevel: riskLevelFor(p),
            now,
            timezone: 'Europe/Berlin',
            serviceHealth,
            change: { touches_deps: deps, files_changed: 80 },
          });
        const pl = mk(lo);
        const ph = mk(hi);
        assert.ok(ph.retry.max_attempts >= pl.retry.max_attempts);
        assert.ok(ph.retry.max_delay_ms >= pl.retry.max_delay_ms);
        assert.ok(rank[ph.strategy.name] >= rank[pl.strategy.name]);
        for (const m of pl.mitigations) assert.ok(actions(ph).includes(m.action), `${m.action} kept at higher risk`);
      },
    ),
    { numRuns: 300 },
  );
});

test('standard policy for fail-open has no mitigations', () => {
  const p = standardPolicy(WED_NOON);
  assert.equal(p.strategy.name, 'standard');
  assert.deepEqual(p.mitigations, []);
  assert.equal(p.retry.max_attempts, 3);
});

test('backoff: exponential from the base, capped, jitter within bounds', () => {
  const r = { max_attempts: 5, base_delay_ms: 1000, max_delay_ms: 5000, jitter: 0.5 };
  assert.equal(
    backoffDelay(r, 1, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(r, 2, () => 1),
    2000,
  );
  assert.equal(
    backoffDelay(r, 3, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(r, 10, () => 1),
    5000,
  );
  assert.equal(
    backoffDelay(r, 3, () => 0),
    2000,
  );
  assert.equal(
    backoffDelay({ ...r, jitter: 0 }, 3, () => 0),
    4000,
  );
});

test('windows: parsing, day ranges, wrap past midnight, errors', () => {
  const [w] = parseWindows('Sat-Mon 22:00-02:00');
  assert.deepEqual(w.days, [0, 1, 6]);
  const at = (iso: string) => localClock(new Date(iso), 'UTC');
  assert.ok(findWindow(at('2024-05-11T23:00:00Z'), [w]), 'Saturday 23:00');
  assert.ok(findWindow(at('2024-05-14T01:00:00Z'), [w]), 'Tuesday 01:00 belongs to Monday night');
  assert.equal(findWindow(at('2024-05-14T03:00:00Z'), [w]), null);
  assert.equal(findWindow(at('2024-05-10T23:00:00Z'), [w]), null, 'Friday is not listed');
  assert.equal(parseWindows('Mon,Wed 09:00-10:00, daily 23:00-23:30; weekends 00:00-24:00').length, 3);
  assert.deepEqual(parseWindows('Mon,Wed 09:00-10:00')[0].days, [1, 3]);
  assert.throws(() => parseWindows('Fri 16:00'), /bad window/);
  assert.throws(() => parseWindows('Frx 16:00-17:00'), /unknown day/);
  assert.throws(() => parseWindows('Fri 10:00-10:00'), /empty window/);
});
