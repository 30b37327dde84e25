/**
 * The CI client validates /v1/risk answers without zod (src/ci/answer.ts, to keep the bundle small and its start
 * fast). It must agree with the server's RiskResponseSchema on every answer: the same accepted, the same
 * rejected, the same fields kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RiskResponseSchema } from '../../src/serving/schemas.ts';
import { parseRiskResponse } from '../../src/ci/answer.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';

const str = fc.string({ maxLength: 8 });
const valid = fc.record({
  probability: fc.double({ min: 0, max: 1, noNaN: true }),
  risk_level: fc.constantFrom('low', 'medium', 'high'),
  model: fc.option(fc.record({ id: str, version: str, kind: str }), { nil: null }),
  degraded: fc.boolean(),
  factors: fc.array(
    fc.record({
      feature: str,
      value: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }),
      contribution: fc.double({ noNaN: true, noDefaultInfinity: true }),
    }),
    { maxLength: 3 },
  ),
  attribution: fc.option(str, { nil: null }),
  policy: fc.record({
    retry: fc.record({
      max_attempts: fc.integer({ min: 1, max: 10 }),
      base_delay_ms: fc.nat(),
      max_delay_ms: fc.nat(),
      jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    strategy: fc.record({
      name: fc.constantFrom('conservative', 'standard', 'aggressive'),
      env: fc.dictionary(str, str, { maxKeys: 3 }),
      reasons: fc.array(str, { maxLength: 2 }),
    }),
    mitigations: fc.array(
      fc.record({
        action: fc.constantFrom(
          'enable_extra_retries',
          'increase_timeouts',
          'require_manual_approval',
          'split_build_into_chunks',
          'warm_cache_preemptively',
          'use_alternative_cache',
        ),
        reason: str,
      }),
      { maxLength: 3 },
    ),
    time: fc.record({
      local: str,
      maintenance_window: fc.option(str, { nil: null }),
      high_risk_period: fc.option(str, { nil: null }),
    }),
  }),
  request_id: str,
});

/** Replaces the value at a random path (or adds an unknown key) with an odd JSON value. */
function mutate(v: unknown, path: number[], odd: unknown): unknown {
  if (path.length === 0 || typeof v !== 'object' || v === null) return odd;
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  if (keys.length === 0) return odd;
  const k = keys[path[0] % keys.length];
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[k] = mutate((v as Record<string | number, unknown>)[k], path.slice(1), odd);
  if (path[0] % 7 === 6 && !Array.isArray(v)) copy[`extra_${path.length}`] = odd;
  return copy;
}
const odd = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.constant(1.5),
  fc.constant(-0.5),
  str,
  fc.constant([]),
  fc.constant({}),
  fc.constant('low'),
  fc.constant(2 ** 60),
);

test('the hand-written validator and RiskResponseSchema accept, reject and keep the same', () => {
  fc.assert(
    fc.property(valid, fc.array(fc.nat(20), { maxLength: 5 }), odd, fc.boolean(), (r, path, value, doMutate) => {
      const input = JSON.parse(JSON.stringify(doMutate ? (mutate(r, path, value) ?? null) : r) ?? 'null');
      const ours = parseRiskResponse(input);
      const theirs = RiskResponseSchema.safeParse(input);
      assert.equal(
        ours.ok,
        theirs.success,
        `${JSON.stringify(input).slice(0, 300)}: ours ${ours.ok ? 'ok' : ours.error}, zod ${theirs.success ? 'ok' : theirs.error.message}`,
      );
      if (ours.ok && theirs.success) assert.deepEqual(ours.value, theirs.data);
    }),
    { numRuns: 2000 },
  );
});

test("a real server's answer passes and keeps every field", async () => {
  const s = await serveApp({ scorer: fixedScorer(0.8) });
  try {
    const res = await fetch(`${s.url}/v1/risk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'acme/web', files_changed: 200, service_health: { npm: 0.3 } }),
    });
    const json = await res.json();
    const ours = parseRiskResponse(json);
    assert.ok(ours.ok);
    assert.deepEqual(ours.value, RiskResponseSchema.parse(json));
    assert.deepEqual(Object.keys(ours.value).sort(), Object.keys(json).sort(), 'no field the server sends is lost');
  } finally {
    await s.close();
  }
});
