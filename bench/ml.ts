/**
 * ML benchmarks: our forest vs ml-random-forest, our GBDT vs XGBoost `hist`, and single-row predict
 * latency. Run: node --import tsx bench/ml.ts   (env BENCH_GBDT_ROWS, BENCH_GBDT_ROUNDS to resize)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../src/ml/dataset.ts';
import { trainForest } from '../src/ml/forest.ts';
import { trainGbdt } from '../src/ml/gbdt.ts';
import { rocAuc } from '../src/ml/metrics.ts';
import { seededRandom } from '../src/ml/random.ts';
import type { FlatTree } from '../src/ml/tree.ts';
import { PackedEnsemble } from '../src/ml/tree-ensemble.ts';
import { TreeModel } from '../src/ml/tree-model.ts';
import { calibratorFromJSON } from '../src/ml/calibration.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Nonlinear synthetic failure data: interactions, thresholds, a predictive missingness, noise features. */
export function synthetic(n: number, d: number, seed: number, missingRate = 0.05): Dataset {
  const r = seededRandom(seed);
  const X = new Float32Array(n * d),
    y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let f = 0; f < d; f++) X[o + f] = r() < missingRate ? NaN : f % 3 === 0 ? Math.floor(r() * 20) : r() * 2 - 1;
    const a = X[o + 1] || 0,
      b = X[o + 2] || 0,
      c = X[o + 4] || 0;
    const z =
      1.2 * Math.sign(a * b) + 1.5 * (c > 0.3 ? 1 : 0) + 0.1 * (X[o] || 0) + (Number.isNaN(X[o + 5]) ? 1.5 : 0) - 1.2;
    y[i] = r() < 1 / (1 + Math.exp(-1.5 * z)) ? 1 : 0;
  }
  return { X, n, d, y, featureNames: Array.from({ length: d }, (_, f) => `f${f}`) };
}

function split(ds: Dataset, nTrain: number): [Dataset, Dataset] {
  const d = ds.d;
  const a: Dataset = {
    X: ds.X.subarray(0, nTrain * d),
    n: nTrain,
    d,
    y: ds.y.subarray(0, nTrain),
    featureNames: ds.featureNames,
  };
  const b: Dataset = {
    X: ds.X.subarray(nTrain * d),
    n: ds.n - nTrain,
    d,
    y: ds.y.subarray(nTrain),
    featureNames: ds.featureNames,
  };
  return [a, b];
}

function scoreTrees(kind: 'gbdt' | 'forest', trees: FlatTree[], base: number, test: Dataset): number {
  const m = new TreeModel(kind, test.featureNames, trees, base, calibratorFromJSON({ kind: 'identity' }), 0.5);
  return rocAuc(test.y, m.predictBatch(test.X, test.n));
}

async function forestVsMlRandomForest(): Promise<Record<string, unknown>> {
  // ml-random-forest cannot take NaN; a large held-out set keeps the AUC comparison from being noise.
  const all = synthetic(7000, 30, 11, 0);
  const [train, test] = split(all, 2000);
  // The same forest as the library's defaults below: every split sees all features. (Our own default, √d
  // features per split, is reported beside it.) Forests on 2,000 rows vary by ±0.01 AUC from seed to
  // seed, so the other seeds are printed too.
  const fit = (seed: number, maxFeatures: number | 'sqrt' = train.d) => {
    const t = performance.now();
    const f = trainForest(train, { nTrees: 50, seed, maxFeatures });
    return { ms: performance.now() - t, auc: scoreTrees('forest', f.trees, 0, test) };
  };
  fit(9); // warm-up (JIT)
  const { ms: oursMs, auc: oursAuc } = fit(1);
  const seeds = [2, 3, 4, 5].map((s) => +fit(s).auc.toFixed(4));
  const sqrt = [1, 2, 3, 4, 5].map((s) => +fit(s, 'sqrt').auc.toFixed(4));

  const { RandomForestClassifier } = await import('ml-random-forest');
  const rows = (ds: Dataset) =>
    Array.from({ length: ds.n }, (_, i) => Array.from(ds.X.subarray(i * ds.d, (i + 1) * ds.d)));
  const Xtr = rows(train),
    ytr = Array.from(train.y),
    Xte = rows(test);
  const t1 = performance.now();
  // Library defaults (every estimator sees all features, unpruned CART) apart from the tree count.
  const rf = new RandomForestClassifier({ nEstimators: 50, seed: 1, noOOB: true });
  rf.train(Xtr, ytr);
  const theirMs = performance.now() - t1;
  const theirAuc = rocAuc(test.y, rf.predictProbability(Xte, 1));
  return {
    rows: train.n,
    test_rows: test.n,
    features: train.d,
    trees: 50,
    max_features: train.d,
    ours_train_ms: +oursMs.toFixed(1),
    ml_random_forest_train_ms: +theirMs.toFixed(1),
    speedup: +(theirMs / oursMs).toFixed(1),
    ours_auc: +oursAuc.toFixed(4),
    ml_random_forest_auc: +theirAuc.toFixed(4),
    ours_auc_other_seeds: seeds,
    ours_auc_sqrt_features_seeds_1_to_5: sqrt,
  };
}

function syntheticGbdtData(): { all: Dataset; nTrain: number } {
  const nTrain = Number(process.env.BENCH_GBDT_ROWS ?? 400_000);
  const nTest = Math.max(1000, Math.floor(nTrain / 4));
  return { all: synthetic(nTrain + nTest, 30, 7), nTrain };
}

/** The travis-dev history through the product's own feature definition, time-ordered: the rows the issue names. */
async function travisGbdtData(): Promise<{ all: Dataset; nTrain: number } | string> {
  const file = join(here, '..', '..', 'shared', 'datasets', 'travis-dev.jsonl.gz');
  if (!existsSync(file)) return `skipped: no ${file}`;
  const { loadRunFiles } = await import('../src/records/load.ts');
  const { buildFrame } = await import('../src/features/frame.ts');
  const { takeRows, timeOrder } = await import('../training/split.ts');
  const frame = buildFrame(await loadRunFiles([file], () => {}));
  const all = takeRows(frame, timeOrder(frame));
  return { all, nTrain: Math.floor(all.n * 0.8) };
}

/**
 * Our GBDT and XGBoost `hist` on the same rows and features, each in a fresh process reading the same
 * files (so neither pays for the other's heap), with the same tree shape, rounds and bins.
 */
function gbdtVsXgboost({ all, nTrain }: { all: Dataset; nTrain: number }): Record<string, unknown> {
  const nTest = all.n - nTrain;
  const rounds = Number(process.env.BENCH_GBDT_ROUNDS ?? 100);
  const depth = 6,
    bins = 255,
    d = all.d;
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-gbdt-'));
  try {
    const prefix = join(dir, 'data');
    writeFileSync(prefix + '.X', Buffer.from(all.X.buffer, all.X.byteOffset, all.X.byteLength));
    writeFileSync(prefix + '.y', Buffer.from(all.y.buffer, all.y.byteOffset, all.y.byteLength));
    const args = [prefix, String(nTrain), String(nTest), String(d), String(rounds), String(depth)];
    const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);
    const ours = lastJson(
      execFileSync(process.execPath, ['--import', 'tsx', join(here, 'gbdt-child.ts'), ...args, String(bins)], {
        encoding: 'utf8',
      }),
    ) as { threads: number; train_s: number; auc: number };
    const out: Record<string, unknown> = {
      rows: nTrain,
      test_rows: nTest,
      features: d,
      rounds,
      max_depth: depth,
      max_bin: bins,
      ours_threads: ours.threads,
      ours_train_s: +ours.train_s.toFixed(2),
      ours_auc: +ours.auc.toFixed(4),
    };
    const py = '/usr/bin/python3';
    let hasXgb = false;
    try {
      execFileSync(py, ['-c', 'import xgboost'], { stdio: 'ignore' });
      hasXgb = existsSync(py);
    } catch {
      hasXgb = false;
    }
    if (!hasXgb) {
      out.xgboost = 'skipped: python3-xgboost not installed (apt-get install -y python3-xgboost)';
      return out;
    }
    // One and two threads: OpenMP's second thread only helps on an idle core (on a loaded one it spins and
    // can be several times slower), so the faster of the two is the peer we are held to.
    const runs = [1, 2].map(
      (threads) =>
        lastJson(
          execFileSync(py, [join(here, 'xgb_hist.py'), ...args, String(bins + 1), String(threads)], {
            encoding: 'utf8',
            env: { ...process.env, OMP_NUM_THREADS: String(threads) },
          }),
        ) as { xgboost_version: string; threads: number; train_s: number; dmatrix_s: number; auc: number },
    );
    const res = runs.reduce((a, b) => (b.train_s < a.train_s ? b : a));
    Object.assign(out, {
      xgboost_version: res.xgboost_version,
      xgboost_train_s_by_threads: Object.fromEntries(runs.map((r) => [r.threads, +r.train_s.toFixed(2)])),
      xgboost_threads: res.threads,
      xgboost_train_s: +res.train_s.toFixed(2),
      xgboost_dmatrix_s: +res.dmatrix_s.toFixed(2),
      xgboost_auc: +res.auc.toFixed(4),
      time_ratio_ours_over_xgboost: +(ours.train_s / res.train_s).toFixed(2),
    });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function predictLatency(): Record<string, unknown> {
  const all = synthetic(25_000, 30, 5);
  const [train] = split(all, 20_000);
  const r = trainGbdt(train, undefined, {
    maxRounds: 150,
    maxDepth: 6,
    numLeaves: 64,
    minDataInLeaf: 1,
    earlyStoppingRounds: 0,
  });
  const model = new TreeModel(
    'gbdt',
    train.featureNames,
    r.trees,
    r.baseScore,
    calibratorFromJSON({ kind: 'platt', a: 1, b: 0 }),
    0.5,
  );
  const rows = Array.from({ length: 1000 }, (_, i) => Array.from(all.X.subarray(i * 30, i * 30 + 30)));
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += model.predict(rows[i % rows.length]); // warm-up (JIT)
  const N = 100_000;
  // CPU time over a plain loop is robust to other processes sharing the machine; per-call wall
  // latencies (with timer overhead) give the tail.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) sink += model.predict(rows[i % rows.length]);
  const cpu = process.cpuUsage(cpu0);
  const lat = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    sink += model.predict(rows[i % rows.length]);
    lat[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  lat.sort();
  const mean = lat.reduce((a, b) => a + b, 0) / N;
  const nodes = new PackedEnsemble(r.trees).feature.length;
  return {
    trees: r.trees.length,
    max_depth: 6,
    nodes,
    calls: N,
    cpu_mean_us: +((cpu.user + cpu.system) / N).toFixed(2),
    mean_us: +mean.toFixed(2),
    p50_us: +lat[N >> 1].toFixed(2),
    p99_us: +lat[Math.floor(N * 0.99)].toFixed(2),
    checksum: +sink.toFixed(3),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const forest = await forestVsMlRandomForest();
  const latency = predictLatency();
  const gbdt = gbdtVsXgboost(syntheticGbdtData());
  const travis = await travisGbdtData();
  const real = typeof travis === 'string' ? travis : gbdtVsXgboost(travis);
  const { loadavg } = await import('node:os');
  return {
    forest_vs_ml_random_forest: forest,
    gbdt_vs_xgboost_hist: gbdt,
    gbdt_vs_xgboost_hist_travis_features: real,
    bar: 'forest ≥ 50× faster than ml-random-forest at no worse ROC-AUC; GBDT time ≤ 3× XGBoost hist',
    pass:
      (forest.speedup as number) >= 50 &&
      (forest.ours_auc as number) >= (forest.ml_random_forest_auc as number) &&
      [gbdt, real].every(
        (g) =>
          typeof g === 'string' ||
          typeof g.time_ratio_ours_over_xgboost !== 'number' ||
          g.time_ratio_ours_over_xgboost <= 3,
      ),
    predict_latency: latency,
    load_average_1m: +loadavg()[0].toFixed(2),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const res = await run();
  console.log(JSON.stringify(res, null, 2));
}
