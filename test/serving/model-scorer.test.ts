import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelScorer } from '../../src/serving/model-scorer.ts';
import type { Scorer } from '../../src/serving/types.ts';
import { FEATURE_INDEX } from '../../src/features/definition.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory } from '../support/runs.ts';

async function setup() {
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-scorer-'));
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(11, 400));
  const first = await trainFromStore({ store, modelsDir, kinds: ['gbdt'] });
  const second = await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false });
  return { store, modelsDir, first: first.manifest, second: second.manifest };
}

const req = {
  repo: 'acme/web',
  head_branch: 'main',
  event: 'push',
  actor: 'dev1',
  files: ['package-lock.json', 'src/a.ts'],
  additions: 40,
  deletions: 3,
};

test('scores with the champion: calibrated probability, model identity and top factors', async () => {
  const { store, modelsDir, first } = await setup();
  const scorer = await createModelScorer({ store, modelsDir, pollMs: 0 });
  const r = await scorer.score(req);
  assert.ok(r.probability >= 0 && r.probability <= 1);
  assert.equal(r.degraded, false);
  assert.equal(r.model?.id, first.id);
  assert.ok(r.factors.length > 0 && r.factors.length <= 5);
  for (let i = 1; i < r.factors.length; i++)
    assert.ok(Math.abs(r.factors[i - 1].contribution) >= Math.abs(r.factors[i].contribution));
  assert.equal(r.attribution, 'path', 'path attribution unless asked otherwise');
  // A request may ask for Shapley values; a scorer may default to them.
  const at = { ...req, created_at: '2026-11-30T10:00:00Z' };
  const shap = await scorer.score({ ...at, attribution: 'treeshap' });
  assert.equal(shap.attribution, 'treeshap');
  assert.equal(
    shap.probability,
    (await scorer.score(at)).probability,
    'the method changes the explanation, not the score',
  );
  scorer.close();
  const byDefault = await createModelScorer({ store, modelsDir, pollMs: 0, attribution: 'treeshap' });
  const d = await byDefault.score(at);
  assert.equal(d.attribution, 'treeshap');
  assert.deepEqual(d.factors, shap.factors);
  byDefault.close();
});

test('hot swap under load: no request fails and the new champion answers afterwards', async () => {
  const { store, modelsDir, first, second } = await setup();
  const scorer = await createModelScorer({ store, modelsDir, pollMs: 0 });
  const registry = new Registry(modelsDir);
  const seen = new Set<string>();
  let failures = 0;
  const load = Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 300; i++) {
      try {
        const r = await scorer.score(req);
        seen.add(r.model!.id);
      } catch {
        failures++;
      }
      if (i % 50 === 0) await new Promise((res) => setImmediate(res));
    }
  });
  await new Promise((res) => setImmediate(res));
  registry.setChampion(second.id);
  const swapped = scorer.reload();
  await Promise.all([...load, swapped]);
  assert.equal(failures, 0);
  assert.equal(await swapped, true);
  assert.deepEqual([...seen].sort(), [first.id, second.id].sort(), 'both models answered during the run');
  assert.equal((await scorer.score(req)).model?.id, second.id);
  scorer.close();
});

test('a corrupt new champion is refused and the old model keeps serving', async () => {
  const { store, modelsDir, first, second } = await setup();
  const scorer = await createModelScorer({ store, modelsDir, pollMs: 0 });
  writeFileSync(join(modelsDir, second.id, 'model.json'), '{"tampered":true}');
  writeFileSync(join(modelsDir, 'champion'), second.id + '\n');
  assert.equal(await scorer.reload(), false);
  assert.equal((await scorer.score(req)).model?.id, first.id);
  scorer.close();
});

test('with no model, the fallback answers and says it is degraded', async () => {
  const store = openStore(':memory:');
  const fallback: Scorer = {
    score: async () => ({ probability: 0.42, model: null, degraded: false, factors: [] }),
    ready: () => true,
    info: () => null,
  };
  const scorer = await createModelScorer({
    store,
    modelsDir: mkdtempSync(join(tmpdir(), 'rg-empty-')),
    fallback,
    pollMs: 0,
  });
  const r = await scorer.score(req);
  assert.equal(r.degraded, true);
  assert.equal(r.probability, 0.42);
  assert.equal(scorer.ready(), true);
  scorer.close();
});

test('a recorded outcome changes the next answer at once (feedback loop through the history cache)', async () => {
  const { store, modelsDir } = await setup();
  const scorer = await createModelScorer({ store, modelsDir, pollMs: 0 });
  const before = scorer.features(req);
  const now = Date.now();
  store.upsertRuns(
    [0, 1, 2, 3].map((i) =>
      RunRecordSchema.parse({
        repo: 'acme/web',
        run_id: `late-${i}`,
        created_at: new Date(now - (10 - i) * 60_000).toISOString(),
        completed_at: new Date(now - (9 - i) * 60_000).toISOString(),
        conclusion: i === 0 ? 'success' : 'failure',
      }),
    ),
  );
  const after = scorer.features(req);
  assert.equal(after[FEATURE_INDEX.last_outcome], 1);
  assert.equal(after[FEATURE_INDEX.consecutive_failures], 3);
  assert.notEqual(before[FEATURE_INDEX.runs_24h], after[FEATURE_INDEX.runs_24h]);
  scorer.close();
});
