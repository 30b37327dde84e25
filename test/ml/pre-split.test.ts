import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../src/ml/model.ts';
import { fixtureData, fixtureModels, probeOutputs, type ProbeOutputs } from './fixtures/pre-split.ts';

// Models saved by the tree code before it was split into grower/partition/ensemble/shap/format
// (see fixtures/pre-split.gen.ts). Every number is compared exactly: the split must not change one bit.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/pre-split-models.json', import.meta.url), 'utf8')) as {
  gbdt: unknown;
  forest: unknown;
  expected: Record<'gbdt' | 'forest', ProbeOutputs>;
};

for (const kind of ['gbdt', 'forest'] as const) {
  test(`${kind} saved before the tree.ts split loads and predicts/explains identically`, async () => {
    const m = await loadModel(fixture[kind]);
    const probe = fixtureData().probe;
    const got = probeOutputs(m, probe);
    const want = fixture.expected[kind];
    assert.deepEqual(got.rows, want.rows); // the probe data itself did not drift
    assert.deepEqual(got.predict, want.predict);
    assert.deepEqual(got.predictBatch, want.predictBatch);
    assert.deepEqual(got.raw, want.raw);
    assert.deepEqual(got.path, want.path);
    assert.deepEqual(got.treeshap, want.treeshap);
    assert.deepEqual(got.importance, want.importance);
    assert.deepEqual(m.toJSON(), fixture[kind]);
  });
}

for (const threads of [1, 2]) {
  test(`growing the fixture models again (${threads} thread${threads > 1 ? 's' : ''}) gives the saved trees bit for bit`, () => {
    const models = fixtureModels(fixtureData(), threads);
    // JSON numbers round-trip doubles exactly, so equal JSON is equal trees
    assert.deepEqual(JSON.parse(JSON.stringify(models.gbdt.toJSON())), fixture.gbdt);
    assert.deepEqual(JSON.parse(JSON.stringify(models.forest.toJSON())), fixture.forest);
  });
}
