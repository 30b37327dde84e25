import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { Refusal } from '../../src/errors.ts';
import { riskAnswer } from '../../src/serving/answer.ts';
import { DeferredScorer } from '../../src/serving/deferred.ts';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { RiskMemory } from '../../src/serving/risk-memory.ts';
import { RiskRequestSchema } from '../../src/serving/schemas.ts';
import { assessRisk, RiskService } from '../../src/serving/service.ts';
import type { Scorer, ScoreResult } from '../../src/serving/types.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';

const config = loadConfig({ RISKGATE_LOG_LEVEL: 'silent' });
// Friday 18:00 UTC: inside the default high-risk period, so the policy's time rules show in the answer.
const req = RiskRequestSchema.parse({ repo: 'acme/web', created_at: '2026-12-04T18:00:00Z', head_sha: 'abc' });
const result = (p: number, extra: Partial<ScoreResult> = {}): ScoreResult => ({
  probability: p,
  model: { id: 'm1', version: 'v', kind: 'gbdt' },
  degraded: false,
  factors: [{ feature: 'fail_rate_20', value: Number.NaN, contribution: Number.POSITIVE_INFINITY }],
  ...extra,
});
const scorerOf = (score: Scorer['score']): Scorer => ({ score, ready: () => true, info: () => null });

test('riskAnswer is pure: the same score and request give the same answer, non-finite factor parts made JSON-safe', () => {
  const a = riskAnswer(req, result(0.8), config, 'r1');
  const b = riskAnswer(req, result(0.8), config, 'r1');
  assert.deepEqual(a, b);
  assert.equal(a.risk_level, 'high');
  assert.deepEqual(a.factors, [{ feature: 'fail_rate_20', value: null, contribution: 0 }]);
  assert.match(a.policy.time.local, /^Fri 18:00/);
  assert.notEqual(a.policy.time.high_risk_period, null);
  assert.ok(riskAnswer(req, result(0.1), config, 'r1').policy.retry.max_attempts <= a.policy.retry.max_attempts);
});

test('assessRisk: a throwing or insane model is answered by the fallback; refusals and store outages are not', async () => {
  const store = openStore(':memory:');
  const fallback = createFallbackScorer({ store });
  const warnings: string[] = [];
  const log = { warn: (_o: object, m?: string) => void warnings.push(m ?? '') };
  for (const broken of [
    scorerOf(async () => {
      throw new Error('model exploded');
    }),
    scorerOf(async () => result(Number.NaN)),
    scorerOf(async () => result(1.5)),
  ]) {
    const out = await assessRisk(req, { scorer: broken, fallback, config, log }, 'r');
    assert.equal(out.degraded, true);
    assert.equal(out.model?.kind, 'rules');
  }
  assert.equal(warnings.length, 3);
  await assert.rejects(
    assessRisk(req, { scorer: new DeferredScorer(), fallback, config }, 'r'),
    (e: unknown) => e instanceof Refusal && e.kind === 'not_ready' && e.retryAfterSeconds === 2,
  );
  const down = scorerOf(async () => {
    throw new StoreUnavailableError('disk gone');
  });
  await assert.rejects(assessRisk(req, { scorer: down, fallback, config }, 'r'), StoreUnavailableError);
});

test('RiskService records what it answered; a repo-bound key cannot write another repo’s outcomes', async () => {
  const store = openStore(':memory:');
  const logged: Record<string, unknown>[] = [];
  const levels: string[] = [];
  const memory = new RiskMemory();
  const service = new RiskService({
    store,
    scorer: scorerOf(async () => result(0.42)),
    fallback: createFallbackScorer({ store }),
    config,
    riskLog: { record: (_k, p) => void logged.push(p), flush() {}, close() {} },
    memory,
    counters: { prediction: (l) => void levels.push(l), fallback() {} },
    clock: () => Date.parse('2026-12-05T00:00:00Z'),
  });
  const out = await service.check(req, 'req-1');
  assert.equal(out.probability, 0.42);
  assert.equal(memory.lookup('acme/web', 'abc'), 0.42);
  assert.deepEqual(levels, [out.risk_level]);
  assert.equal(logged[0].at, '2026-12-05T00:00:00.000Z');
  assert.equal(logged[0].request_id, 'req-1');

  const run = (repo: string) =>
    RunRecordSchema.parse({ repo, run_id: 1, created_at: '2026-12-01T00:00:00Z', conclusion: 'success' });
  const bound = { name: 'team-a', scopes: ['report'] as const, repos: ['acme/*'] };
  assert.throws(
    () => service.recordOutcomes(bound, [run('acme/web'), run('other/app')]),
    (e: unknown) => e instanceof Refusal && e.kind === 'forbidden' && /other\/app/.test(e.message),
  );
  assert.equal(store.recentRuns('acme/web', '2027-01-01T00:00:00Z', 10).length, 0, 'nothing stored');
  assert.equal(service.recordOutcomes(bound, [run('acme/web')]).inserted, 1);
});
