import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { RiskRequestSchema } from '../../src/serving/schemas.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';

const req = (extra: Record<string, unknown> = {}) =>
  RiskRequestSchema.parse({ repo: 'acme/web', created_at: '2024-05-08T12:00:00Z', ...extra });
const runs = (conclusions: string[]) =>
  conclusions.map((c, i) =>
    RunRecordSchema.parse({
      repo: 'acme/web',
      run_id: i,
      created_at: new Date(Date.UTC(2024, 4, 8, 10, i)).toISOString(),
      conclusion: c,
    }),
  );

test('degraded answers in (0, 1) with factors largest first', async () => {
  const store = openStore(':memory:');
  const s = createFallbackScorer({ store });
  const r = await s.score(
    req({ files: ['package-lock.json', '.github/workflows/ci.yml'], additions: 800, deletions: 100 }),
  );
  assert.equal(r.degraded, true);
  assert.equal(r.model?.kind, 'rules');
  assert.ok(r.probability > 0 && r.probability < 1);
  const names = r.factors.map((f) => f.feature);
  assert.ok(names.includes('touches_deps') && names.includes('touches_ci') && names.includes('churn'));
  for (let i = 1; i < r.factors.length; i++)
    assert.ok(Math.abs(r.factors[i - 1].contribution) >= Math.abs(r.factors[i].contribution));
  assert.ok(s.ready());
});

test('each signal moves the probability the right way', async () => {
  const store = openStore(':memory:');
  const s = createFallbackScorer({ store });
  const plain = (await s.score(req({ files: ['src/a.ts'] }))).probability;
  assert.ok((await s.score(req({ files: ['yarn.lock'] }))).probability > plain, 'lockfile');
  assert.ok(
    (await s.score(req({ files: ['src/a.ts'], service_health: { npm: 0.2 } }))).probability > plain,
    'service health',
  );
  assert.ok(
    (await s.score(req({ files: ['src/a.ts'], created_at: '2024-05-08T02:00:00Z' }))).probability > plain,
    'off hours',
  );
  assert.ok((await s.score(req({ files: ['src/a.ts'], additions: 3000 }))).probability > plain, 'size');
});

test('recent history from the store: failures raise, successes lower; only runs before created_at count', async () => {
  const failing = openStore(':memory:');
  failing.upsertRuns(runs(['success', 'failure', 'failure', 'failure', 'failure']));
  const passing = openStore(':memory:');
  passing.upsertRuns(runs(['success', 'success', 'success', 'success', 'success']));
  const empty = openStore(':memory:');
  const p = async (store: typeof empty, at = '2024-05-08T12:00:00Z') =>
    (await createFallbackScorer({ store }).score(req({ created_at: at }))).probability;
  const none = await p(empty);
  assert.ok((await p(failing)) > none + 0.2);
  assert.ok((await p(passing)) < none);
  assert.equal(await p(failing, '2024-05-08T09:00:00Z'), none, 'runs created later are not history yet');
  const r = await createFallbackScorer({ store: failing }).score(req());
  assert.equal(r.factors.find((f) => f.feature === 'consecutive_failures')?.value, 4);
});
