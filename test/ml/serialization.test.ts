import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, type ModelKind } from '../../src/ml/model.ts';
import { trainModel } from '../../src/ml/train.ts';
import { makeDataset } from './helpers.ts';

/** Risky rows: XOR-ish on f0/f1, missing f2 adds risk, last_outcome matters too. */
const gen = (r: () => number): [number[], number] => {
  const last = r() < 0.1 ? NaN : r() < 0.3 ? 1 : 0;
  const x = [r() * 2 - 1, r() * 2 - 1, r() < 0.2 ? NaN : r(), last];
  const z = (x[0] * x[1] > 0 ? 1 : -1) + (Number.isNaN(x[2]) ? 1 : 0) + (last === 1 ? 1 : 0) - 0.5;
  return [x, r() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0];
};
const named = (ds: ReturnType<typeof makeDataset>) => ({ ...ds, featureNames: ['a', 'b', 'c', 'last_outcome'] });
const train = named(makeDataset(1500, 4, 1, gen)),
  valid = named(makeDataset(500, 4, 2, gen)),
  probe = named(makeDataset(200, 4, 3, gen));

const OPTS = { seed: 2, maxRounds: 8, mlp: { hidden: [8], batchSize: 128 } };

for (const kind of ['gbdt', 'forest', 'baseline', 'mlp'] as ModelKind[]) {
  test(`${kind}: JSON round trip gives identical predictions, explanations and threshold`, async () => {
    const m = await trainModel(kind, train, valid, kind === 'forest' ? { seed: 2, maxRounds: 20 } : OPTS);
    const text = JSON.stringify(m.toJSON());
    const back = await loadModel(JSON.parse(text));
    assert.equal(back.kind, kind);
    assert.deepEqual(back.featureNames, train.featureNames);
    assert.equal(back.threshold, m.threshold);
    assert.deepEqual(Array.from(back.predictBatch(probe.X, probe.n)), Array.from(m.predictBatch(probe.X, probe.n)));
    for (let i = 0; i < 20; i++) {
      const x = Array.from(probe.X.subarray(i * 4, i * 4 + 4));
      assert.equal(back.predict(x), m.predict(x));
      assert.deepEqual(back.explain(x), m.explain(x));
    }
    assert.deepEqual(back.importance(), m.importance());
    // the serialised form is stable too (second round trip is byte-identical)
    assert.equal(JSON.stringify(back.toJSON()), text);
    // loadModel also accepts the JSON text itself
    assert.equal((await loadModel(text)).predict([0.3, -0.2, NaN, 1]), m.predict([0.3, -0.2, NaN, 1]));
  });
}

test('baseline uses last_outcome: a failure last time means higher risk', async () => {
  const m = await trainModel('baseline', train, valid);
  assert.ok(m.predict([0, 0, 0, 1]) > m.predict([0, 0, 0, 0]));
  const e = m.explain([0, 0, 0, 1]);
  assert.equal(
    e.contributions
      .filter((c) => c.contribution !== 0)
      .map((c) => c.feature)
      .join(),
    'last_outcome',
  );
  await assert.rejects(
    trainModel(
      'baseline',
      { ...train, featureNames: ['a', 'b', 'c', 'd'] },
      { ...valid, featureNames: ['a', 'b', 'c', 'd'] },
    ),
    /last_outcome/,
  );
});

test('predict rejects a feature vector of the wrong length', async () => {
  const m = await trainModel('gbdt', train, valid, OPTS);
  assert.throws(() => m.predict([1, 2]), /row: expected 4 features, got 2/);
});

test('loadModel rejects malformed JSON with a clear error naming the field', async () => {
  const good = (await trainModel('gbdt', train, valid, OPTS)).toJSON() as Record<string, unknown>;
  const trees = good.trees as Record<string, unknown>[];
  const cases: [unknown, RegExp][] = [
    ['{not json', /not parseable JSON/],
    [null, /\(root\): expected an object/],
    [{ ...good, format: 'other' }, /format: expected "riskgate-model"/],
    [{ ...good, version: 99 }, /version: unsupported 99/],
    [{ ...good, kind: 'svm' }, /kind: expected one of/],
    [{ ...good, featureNames: [1, 2] }, /featureNames/],
    [{ ...good, calibrator: { kind: 'platt' } }, /calibrator\.a\/b/],
    [{ ...good, trees: [] }, /trees: expected a non-empty array/],
    [{ ...good, trees: [{ ...trees[0], value: (trees[0].value as number[]).slice(1) }] }, /trees\[0\]\.value: length/],
    [
      { ...good, trees: [{ ...trees[0], left: (trees[0].left as number[]).map(() => 0) }] },
      /trees\[0\]\.left\[0\]: child 0 must be/,
    ],
    [
      { ...good, trees: [{ ...trees[0], feature: (trees[0].feature as number[]).map((f) => (f >= 0 ? 9 : f)) }] },
      /trees\[0\]\.feature\[0\]: index 9 out of range/,
    ],
  ];
  for (const [json, re] of cases)
    await assert.rejects(
      loadModel(json),
      (e: Error) => e.name === 'ModelFormatError' && re.test(e.message),
      String(re),
    );
  const mlp = (await trainModel('mlp', train, valid, OPTS)).toJSON() as Record<string, unknown>;
  const layers = mlp.layers as Record<string, unknown>[];
  await assert.rejects(
    loadModel({ ...mlp, layers: [{ ...layers[0], W: 'AAAA' }, ...layers.slice(1)] }),
    /layers\[0\]\.W: expected \d+ float32 values \(\d+ bytes\), got 3 bytes/,
  );
  await assert.rejects(loadModel({ ...mlp, scaler: { mean: [0], std: [1], missing_cols: [] } }), /scaler\.mean/);
});
