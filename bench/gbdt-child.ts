/**
 * Our GBDT in a fresh process on the files bench/xgb_hist.py reads (DATA_PREFIX.X float32 row-major,
 * DATA_PREFIX.y uint8, train rows first), so both learners are timed under the same conditions: no
 * other heap to collect, no garbage from building the data.
 * Usage: node --import tsx bench/gbdt-child.ts DATA_PREFIX N_TRAIN N_TEST D ROUNDS MAX_DEPTH MAX_BIN
 */
import { readFileSync } from 'node:fs';
import { trainGbdt } from '../src/ml/gbdt.ts';
import { rocAuc } from '../src/ml/metrics.ts';
import { predictTree } from '../src/ml/tree.ts';
import { autoThreads } from '../src/ml/tree-grower.ts';

const [prefix, nTrainS, nTestS, dS, roundsS, depthS, maxBinS] = process.argv.slice(2);
const [nTrain, nTest, d, rounds, depth, maxBin] = [nTrainS, nTestS, dS, roundsS, depthS, maxBinS].map(Number);
const xb = readFileSync(prefix + '.X');
const yb = readFileSync(prefix + '.y');
const X = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
const y = new Uint8Array(yb.buffer, yb.byteOffset, yb.byteLength);
if (X.length !== (nTrain + nTest) * d || y.length !== nTrain + nTest)
  throw new Error(`${prefix}: expected ${nTrain + nTest} rows × ${d}`);
const train = {
  X: X.subarray(0, nTrain * d),
  n: nTrain,
  d,
  y: y.subarray(0, nTrain),
  featureNames: Array.from({ length: d }, (_, f) => `f${f}`),
};
const t0 = performance.now();
const r = trainGbdt(train, undefined, {
  maxRounds: rounds,
  maxDepth: depth,
  numLeaves: 2 ** depth,
  maxBins: maxBin,
  learningRate: 0.1,
  lambdaL2: 1,
  minDataInLeaf: 1,
  minSumHessian: 1,
  earlyStoppingRounds: 0,
});
const trainS = (performance.now() - t0) / 1000;
const scores = new Float64Array(nTest);
for (let i = 0; i < nTest; i++) {
  const row = X.subarray((nTrain + i) * d, (nTrain + i + 1) * d);
  let z = r.baseScore;
  for (const t of r.trees) z += predictTree(t, row);
  scores[i] = z;
}
console.log(
  JSON.stringify({ threads: autoThreads(nTrain, d), train_s: trainS, auc: rocAuc(y.subarray(nTrain), scores) }),
);
