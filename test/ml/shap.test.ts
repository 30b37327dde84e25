import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainModel } from '../../src/ml/train.ts';
import { expectedValue, type FlatTree } from '../../src/ml/tree.ts';
import { ShapTable, treeShap } from '../../src/ml/tree-shap.ts';
import { makeDataset, row, xor } from './helpers.ts';

/** E[f(x) | x_S] with absent features integrated out by cover: the game TreeSHAP solves exactly. */
function condExp(t: FlatTree, x: number[], S: Set<number>, node = 0): number {
  if (t.feature[node] < 0) return t.value[node];
  const f = t.feature[node];
  if (S.has(f)) {
    const v = x[f];
    const left = v <= t.threshold[node] ? true : v > t.threshold[node] ? false : t.defaultLeft[node] === 1;
    return condExp(t, x, S, left ? t.left[node] : t.right[node]);
  }
  const l = t.left[node],
    r = t.right[node];
  return (t.cover[l] * condExp(t, x, S, l) + t.cover[r] * condExp(t, x, S, r)) / t.cover[node];
}

function bruteShapley(t: FlatTree, x: number[], d: number): number[] {
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Array(d).fill(0);
  for (let i = 0; i < d; i++) {
    const others = [...Array(d).keys()].filter((j) => j !== i);
    for (let mask = 0; mask < 1 << others.length; mask++) {
      const S = new Set(others.filter((_, k) => mask & (1 << k)));
      const w = (fact(S.size) * fact(d - S.size - 1)) / fact(d);
      phi[i] += w * (condExp(t, x, new Set([...S, i])) - condExp(t, x, S));
    }
  }
  return phi;
}

test('TreeSHAP equals brute-force Shapley values on a small tree with repeated features and NaN', async () => {
  // 4 features, deep enough that features repeat along paths; some values missing.
  const gen = (r: () => number): [number[], number] => {
    const x = [r(), r(), r() < 0.2 ? NaN : r(), r()];
    const z = (x[0] > 0.5 ? 1 : -1) * (x[1] > 0.3 ? 1 : -1) + (Number.isNaN(x[2]) ? 1 : x[2]) + 0.5 * x[3];
    return [x, r() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0];
  };
  const ds = makeDataset(1500, 4, 7, gen);
  const m = await trainModel('gbdt', ds, makeDataset(300, 4, 8, gen), {
    maxRounds: 3,
    gbdt: { maxDepth: 5, numLeaves: 16, minDataInLeaf: 10 },
  });
  const trees = (m as unknown as { trees: FlatTree[] }).trees;
  assert.ok(trees[0].feature.length > 7, 'tree should have several splits');
  for (const x of [
    [0.7, 0.2, NaN, 0.9],
    [0.1, 0.9, 0.4, 0.05],
    [0.55, 0.31, 0.99, 0.5],
  ]) {
    for (const t of trees) {
      const phi = new Float64Array(4);
      treeShap(t, x, phi);
      const brute = bruteShapley(t, x, 4);
      for (let f = 0; f < 4; f++) assert.ok(Math.abs(phi[f] - brute[f]) < 1e-9, `f${f}: ${phi[f]} vs ${brute[f]}`);
      // efficiency: Σφ = f(x) − E[f]
      const sum = phi.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - (condExp(t, x, new Set([0, 1, 2, 3])) - expectedValue(t))) < 1e-9);
    }
  }
});

test("the serving table gives the recursion's SHAP values, repeated features and NaN included", async () => {
  const gen = (r: () => number): [number[], number] => {
    const x = [r(), r() < 0.3 ? NaN : r(), r(), r(), r() * 10];
    const z = (x[0] > 0.5 ? 1 : -1) * (x[2] > 0.3 ? 1 : -1) + (Number.isNaN(x[1]) ? 1 : x[1]) + 0.1 * x[4];
    return [x, r() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0];
  };
  const m = await trainModel('gbdt', makeDataset(3000, 5, 11, gen), makeDataset(500, 5, 12, gen), {
    maxRounds: 30,
    gbdt: { maxDepth: 7, numLeaves: 40, minDataInLeaf: 5 },
  });
  const trees = (m as unknown as { trees: FlatTree[] }).trees;
  const rows = makeDataset(200, 5, 13, gen);
  let repeated = 0;
  for (const t of trees) {
    const table = ShapTable.build(t);
    assert.ok(table, 'depth-7 trees fit in a table');
    for (let i = 0; i < rows.n; i++) {
      const x = row(rows, i);
      const a = new Float64Array(5),
        b = new Float64Array(5);
      treeShap(t, x, a);
      table.addTo(x, b);
      for (let f = 0; f < 5; f++) assert.ok(Math.abs(a[f] - b[f]) < 1e-9, `f${f}: ${a[f]} vs ${b[f]}`);
    }
    const seen = new Set<number>();
    for (let n = 0; n < t.feature.length; n++) {
      if (t.feature[n] < 0) continue;
      if (seen.has(t.feature[n])) repeated++;
      else seen.add(t.feature[n]);
    }
  }
  assert.ok(repeated > 0, 'some trees split on a feature more than once');
  const stump: FlatTree = {
    ...trees[0],
    feature: Int32Array.of(-1),
    left: Int32Array.of(-1),
    right: Int32Array.of(-1),
  };
  assert.equal(ShapTable.build(stump), null, 'a single leaf has nothing to attribute');
});

for (const kind of ['gbdt', 'forest'] as const) {
  for (const method of ['path', 'treeshap'] as const) {
    test(`${kind} explain (${method}): base + Σ contributions = raw score (additivity)`, async () => {
      const train = xor(2000, 1),
        valid = xor(500, 2),
        test = xor(50, 3);
      const m = await trainModel(kind, train, valid, { seed: 3, maxRounds: 40 });
      for (let i = 0; i < test.n; i++) {
        const x = row(test, i);
        const e = m.explain(x, { method });
        assert.equal(e.method, method);
        assert.equal(e.space, kind === 'gbdt' ? 'log-odds' : 'probability');
        assert.equal(e.contributions.length, 5);
        const sum = e.base + e.contributions.reduce((a, c) => a + c.contribution, 0);
        assert.ok(Math.abs(sum - m.raw(x)) < 1e-9, `${sum} vs ${m.raw(x)}`);
      }
      // Noise features carry far less attribution than the XOR pair on average.
      const mean = (f: number) => {
        let s = 0;
        for (let i = 0; i < test.n; i++)
          s += Math.abs(m.explain(row(test, i), { method }).contributions[f].contribution);
        return s / test.n;
      };
      assert.ok(mean(0) > 3 * mean(4), `f0 ${mean(0)} vs f4 ${mean(4)}`);
    });
  }
}

test('path attribution credits each split on the decision path with the change in subtree expectation', async () => {
  const { PackedEnsemble } = await import('../../src/ml/tree-ensemble.ts');
  // root splits f0 at 0.5; its left child splits f1 at 0.5 (missing → right); covers 10 / 6 / 4 / 2 / 4
  const t: FlatTree = {
    feature: Int32Array.from([0, 1, -1, -1, -1]),
    threshold: Float64Array.from([0.5, 0.5, 0, 0, 0]),
    binThreshold: Int32Array.from([1, 1, 0, 0, 0]),
    defaultLeft: Uint8Array.from([1, 0, 0, 0, 0]),
    left: Int32Array.from([1, 3, -1, -1, -1]),
    right: Int32Array.from([2, 4, -1, -1, -1]),
    value: Float64Array.from([0, 0, 3, 1, -2]),
    cover: Float64Array.from([10, 6, 4, 2, 4]),
    gain: Float64Array.from([1, 1, 0, 0, 0]),
  } as unknown as FlatTree;
  const e1 = (2 * 1 + 4 * -2) / 6; // left subtree
  const e0 = (6 * e1 + 4 * 3) / 10; // root
  const p = new PackedEnsemble([t]);
  assert.ok(Math.abs(p.expectedSum() - e0) < 1e-12);
  assert.ok(Math.abs(expectedValue(t) - e0) < 1e-12, 'the same base as TreeSHAP');
  const phi = new Float64Array(2);
  p.pathContributions([0.2, NaN], phi); // left, then missing f1 → right leaf (−2)
  assert.ok(Math.abs(phi[0] - (e1 - e0)) < 1e-12, `f0 ${phi[0]}`);
  assert.ok(Math.abs(phi[1] - (-2 - e1)) < 1e-12, `f1 ${phi[1]}`);
  const right = new Float64Array(2);
  p.pathContributions([0.9, 0.1], right);
  assert.ok(Math.abs(right[0] - (3 - e0)) < 1e-12 && right[1] === 0, 'a feature off the path gets nothing');
  // On a single split Shapley and path credit coincide.
  const stump = new PackedEnsemble([
    {
      ...t,
      feature: Int32Array.from([0, -1, -1, -1, -1]),
      left: Int32Array.from([1, -1, -1, -1, -1]),
      right: Int32Array.from([2, -1, -1, -1, -1]),
      value: Float64Array.from([0, e1, 3, 0, 0]),
    } as unknown as FlatTree,
  ]);
  const a = new Float64Array(2),
    b = new Float64Array(2);
  stump.pathContributions([0.2, 0], a);
  treeShap(
    {
      ...t,
      feature: Int32Array.from([0, -1, -1, -1, -1]),
      left: Int32Array.from([1, -1, -1, -1, -1]),
      right: Int32Array.from([2, -1, -1, -1, -1]),
      value: Float64Array.from([0, e1, 3, 0, 0]),
    } as unknown as FlatTree,
    [0.2, 0],
    b,
  );
  assert.ok(Math.abs(a[0] - b[0]) < 1e-12, `${a[0]} vs ${b[0]}`);
});
