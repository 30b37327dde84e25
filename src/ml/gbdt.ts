/**
 * LightGBM-style gradient-boosted trees for the logloss objective, on histogram bins.
 * Produces raw trees (log-odds margins); tree-model.ts wraps them with calibration into a RiskModel.
 */
import type { Dataset } from './dataset.ts';
import { applyBins, fitBins, type BinMapper } from './histogram.ts';
import { seededRandom } from './random.ts';
import { predictBinned, predictTree, type FlatTree } from './tree.ts';
import { autoThreads, TreeGrower } from './tree-grower.ts';
import { rowWeights, type ClassWeight } from './weights.ts';

export interface GbdtParams {
  learningRate: number;
  maxRounds: number;
  maxDepth: number;
  numLeaves: number;
  minDataInLeaf: number;
  minSumHessian: number;
  lambdaL2: number;
  minGainToSplit: number;
  featureFraction: number; // per tree
  baggingFraction: number; // per tree, without replacement
  maxBins: number;
  earlyStoppingRounds: number; // 0 disables
  seed: number;
  classWeight?: ClassWeight;
  timeBudgetMs?: number;
  /** Histogram threads (default: `autoThreads`); the trees are the same for any count. */
  threads?: number;
}

export const GBDT_DEFAULTS: GbdtParams = {
  learningRate: 0.1,
  maxRounds: 300,
  maxDepth: 6,
  numLeaves: 31,
  minDataInLeaf: 20,
  minSumHessian: 1e-3,
  lambdaL2: 1,
  minGainToSplit: 0,
  featureFraction: 1,
  baggingFraction: 1,
  maxBins: 255,
  earlyStoppingRounds: 30,
  seed: 1,
};

export interface GbdtResult {
  trees: FlatTree[];
  baseScore: number; // initial log-odds
  bestIteration: number; // number of trees kept
  roundsRun: number;
  validLoss: number[]; // weighted validation logloss after each round
  stoppedEarly: boolean;
  mapper: BinMapper;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function trainGbdt(train: Dataset, valid: Dataset | undefined, params: Partial<GbdtParams> = {}): GbdtResult {
  const p: GbdtParams = { ...GBDT_DEFAULTS, ...params };
  const { n, d } = train;
  if (n === 0) throw new RangeError('trainGbdt: empty training set');
  const t0 = Date.now();
  const rng = seededRandom(p.seed);
  const mapper = fitBins(train.X, n, d, p.maxBins);
  const bins = applyBins(mapper, train.X, n, d);
  const w = rowWeights(train, p.classWeight);
  let sw = 0,
    swy = 0;
  for (let i = 0; i < n; i++) {
    sw += w[i];
    swy += w[i] * train.y[i];
  }
  const prior = Math.min(1 - 1e-6, Math.max(1e-6, swy / sw));
  const baseScore = Math.log(prior / (1 - prior));

  const F = new Float64Array(n).fill(baseScore);
  const g = new Float32Array(n),
    h = new Float32Array(n);
  const rows = new Uint32Array(n);
  const allFeats = Int32Array.from({ length: d }, (_, i) => i);
  const feats = new Int32Array(d);
  const nFeatsPerTree = Math.max(1, Math.round(p.featureFraction * d));
  const grower = new TreeGrower(bins, n, d, mapper, { threads: p.threads ?? autoThreads(n, d) });
  const growParams = {
    maxDepth: p.maxDepth,
    numLeaves: p.numLeaves,
    minDataInLeaf: p.minDataInLeaf,
    minSumHessian: p.minSumHessian,
    lambdaL2: p.lambdaL2,
    minGainToSplit: p.minGainToSplit,
    featuresPerNode: d,
  };

  const vw = valid && valid.n > 0 ? rowWeights(valid, p.classWeight) : undefined;
  const VF = valid ? new Float64Array(valid.n).fill(baseScore) : undefined;
  const validLoss: number[] = [];
  let best = Infinity,
    bestIter = 0,
    stoppedEarly = false;
  const trees: FlatTree[] = [];
  const addLeaf = (v: number, rs: Uint32Array, s: number, e: number): void => {
    for (let k = s; k < e; k++) F[rs[k]] += v;
  };

  try {
    for (let round = 0; round < p.maxRounds; round++) {
      for (let i = 0; i < n; i++) {
        const pr = sigmoid(F[i]);
        g[i] = (pr - train.y[i]) * w[i];
        h[i] = Math.max(pr * (1 - pr), 1e-16) * w[i];
      }
      let nRows = n;
      if (p.baggingFraction < 1) {
        nRows = 0;
        for (let i = 0; i < n; i++) if (rng() < p.baggingFraction) rows[nRows++] = i;
        if (nRows === 0) rows[nRows++] = Math.floor(rng() * n);
      } else {
        for (let i = 0; i < n; i++) rows[i] = i;
      }
      let nFeats = d;
      if (nFeatsPerTree < d) {
        const tmp = allFeats.slice();
        for (let i = 0; i < nFeatsPerTree; i++) {
          const j = i + Math.floor(rng() * (d - i));
          const t = tmp[i];
          tmp[i] = tmp[j];
          tmp[j] = t;
        }
        const chosen = tmp.subarray(0, nFeatsPerTree).sort();
        feats.set(chosen);
        nFeats = nFeatsPerTree;
      } else {
        feats.set(allFeats);
      }
      const bagged = nRows < n;
      const tree = grower.grow({
        g,
        h,
        rows,
        nRows,
        feats,
        nFeats,
        params: growParams,
        rng,
        scale: p.learningRate,
        onLeaf: bagged ? undefined : addLeaf,
      });
      if (bagged) for (let i = 0; i < n; i++) F[i] += predictBinned(tree, bins, n, i);
      trees.push(tree);

      if (valid && VF && vw && valid.n > 0) {
        let loss = 0,
          wsum = 0;
        for (let i = 0; i < valid.n; i++) {
          VF[i] += predictTree(tree, valid.X.subarray(i * d, (i + 1) * d));
          const q = Math.min(1 - 1e-15, Math.max(1e-15, sigmoid(VF[i])));
          loss -= vw[i] * (valid.y[i] === 1 ? Math.log(q) : Math.log(1 - q));
          wsum += vw[i];
        }
        loss /= wsum;
        validLoss.push(loss);
        if (loss < best - 1e-12) {
          best = loss;
          bestIter = trees.length;
        } else if (p.earlyStoppingRounds > 0 && trees.length - bestIter >= p.earlyStoppingRounds) {
          stoppedEarly = true;
          break;
        }
      } else {
        bestIter = trees.length;
      }
      if (p.timeBudgetMs !== undefined && Date.now() - t0 > p.timeBudgetMs) break;
      // A stump-only tree means no split helps any more.
      if (tree.feature[0] < 0) break;
    }
  } finally {
    grower.close();
  }
  const roundsRun = trees.length;
  trees.length = Math.max(1, bestIter);
  return { trees, baseScore, bestIteration: trees.length, roundsRun, validLoss, stoppedEarly, mapper };
}
