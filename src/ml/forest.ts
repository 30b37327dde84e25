/**
 * Random forest on the same histogram machinery: bootstrap rows (as integer multiplicities), a fresh
 * random feature subset per node, variance (= Gini for 0/1 labels) splits; the leaf value is the
 * leaf's weighted failure rate and the forest probability is the mean over trees.
 */
import type { Dataset } from './dataset.ts';
import { applyBins, fitBins } from './histogram.ts';
import { seededRandom } from './random.ts';
import type { FlatTree } from './tree.ts';
import { autoThreads, TreeGrower } from './tree-grower.ts';
import { rowWeights, type ClassWeight } from './weights.ts';

export interface ForestParams {
  nTrees: number;
  maxDepth: number;
  minDataInLeaf: number;
  maxFeatures: number | 'sqrt'; // per node
  sampleFraction: number; // bootstrap size relative to n
  maxBins: number;
  seed: number;
  classWeight?: ClassWeight;
  timeBudgetMs?: number;
  /** Histogram threads (default: `autoThreads`); the trees are the same for any count. */
  threads?: number;
}

export const FOREST_DEFAULTS: ForestParams = {
  nTrees: 100,
  maxDepth: 16,
  minDataInLeaf: 5,
  maxFeatures: 'sqrt',
  sampleFraction: 1,
  maxBins: 255,
  seed: 1,
};

export function trainForest(train: Dataset, params: Partial<ForestParams> = {}): { trees: FlatTree[] } {
  const p: ForestParams = { ...FOREST_DEFAULTS, ...params };
  const { n, d } = train;
  if (n === 0) throw new RangeError('trainForest: empty training set');
  const t0 = Date.now();
  const rng = seededRandom(p.seed);
  const mapper = fitBins(train.X, n, d, p.maxBins);
  const bins = applyBins(mapper, train.X, n, d);
  const w = rowWeights(train, p.classWeight);
  const grower = new TreeGrower(bins, n, d, mapper, { threads: p.threads ?? autoThreads(n, d) });
  const feats = Int32Array.from({ length: d }, (_, i) => i);
  const mtry =
    p.maxFeatures === 'sqrt' ? Math.max(1, Math.round(Math.sqrt(d))) : Math.min(d, Math.max(1, p.maxFeatures));
  const growParams = {
    maxDepth: p.maxDepth,
    numLeaves: 2 ** Math.min(p.maxDepth, 20),
    minDataInLeaf: p.minDataInLeaf,
    minSumHessian: 1e-9,
    lambdaL2: 0,
    minGainToSplit: 1e-12,
    featuresPerNode: mtry,
    perNode: true,
  };
  const mult = new Uint16Array(n);
  const g = new Float32Array(n),
    h = new Float32Array(n);
  const rows = new Uint32Array(n);
  const trees: FlatTree[] = [];
  const draws = Math.max(1, Math.round(p.sampleFraction * n));
  try {
    for (let t = 0; t < p.nTrees; t++) {
      mult.fill(0);
      for (let k = 0; k < draws; k++) mult[Math.floor(rng() * n)]++;
      let nRows = 0;
      for (let i = 0; i < n; i++) {
        if (mult[i] === 0) continue;
        rows[nRows++] = i;
        // With g = -y·w and h = w (lambda 0), -G/H is the weighted failure rate and G²/H gain is variance reduction.
        h[i] = mult[i] * w[i];
        g[i] = -train.y[i] * h[i];
      }
      trees.push(grower.grow({ g, h, rows, nRows, feats, nFeats: d, params: growParams, rng, scale: 1 }));
      if (p.timeBudgetMs !== undefined && Date.now() - t0 > p.timeBudgetMs) break;
    }
  } finally {
    grower.close();
  }
  return { trees };
}
