import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bestF1Threshold, prAuc, prCurve, rocCurve } from '../../src/ml/metrics.ts';
import * as before from './fixtures/metrics-pre-sweep.ts';

// The curves, average precision and the F1 threshold now read one shared sweep; each must give exactly what
// its own sweep gave before (ties, one class only, empty input included).
const labelled = fc
  .array(fc.record({ y: fc.integer({ min: 0, max: 1 }), s: fc.integer({ min: 0, max: 12 }) }), { maxLength: 60 })
  .map((rows) => ({ y: rows.map((r) => r.y), p: Float32Array.from(rows, (r) => r.s / 12) }));

test('one threshold sweep gives the same ROC, PR, average precision and F1 threshold as the four before', () => {
  fc.assert(
    fc.property(labelled, ({ y, p }) => {
      assert.deepEqual(rocCurve(y, p), before.rocCurve(y, p));
      assert.deepEqual(prCurve(y, p), before.prCurve(y, p));
      assert.deepEqual(bestF1Threshold(y, p), before.bestF1Threshold(y, p));
      assert.ok(Object.is(prAuc(y, p), before.prAuc(y, p)), `prAuc ${prAuc(y, p)} vs ${before.prAuc(y, p)}`);
    }),
    { numRuns: 500, seed: 21 },
  );
});
