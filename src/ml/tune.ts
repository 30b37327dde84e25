/**
 * A small forward-validated search over the GBDT's shape: every setting is fitted on the older rows and
 * judged on the later validation slice (never on the holdout), with early stopping choosing the rounds.
 * The grid is walked in a fixed order and every fit is seeded, so the result is the same for a seed unless
 * the time budget cuts the walk short (the card then lists which settings ran).
 *
 * When it runs (measured 2026-12-05 with bench/ml-quality.ts and `riskgate backtest` on dlci-dev and on 16
 * travis-dev repositories whose commits' files came from git mirrors; each repo's F1 threshold comes from its
 * validation slice either way, so only the shape differs). Mean F1 / PR-AUC / ROC-AUC / first-failure ROC-AUC,
 * searched vs one fit with GBDT_DEFAULTS:
 *
 *   pooled histories (training rows)
 *   dlci-dev, tuning repos (~23,000)                  0.577/0.604/0.726/0.600 vs 0.578/0.604/0.727/0.601
 *   dlci-dev, held out (~5,800)                       0.395/0.440/0.708/0.648 vs 0.422/0.443/0.706/0.641
 *   travis + git files, 11 tuning repos (~5,900)      0.611/0.627/0.769/0.673 vs 0.599/0.634/0.771/0.673
 *   travis + git files, 5 held out (~2,600)           0.637/0.677/0.770/0.648 vs 0.625/0.683/0.766/0.636
 *   each of those 16 repos alone (~500 rows each; `riskgate backtest --tune` vs `--no-tune`): mean change
 *   from searching F1 +0.015, PR-AUC +0.015, ROC-AUC +0.007, first-failure ROC-AUC +0.008; PR-AUC higher in
 *   7 repos (up to +0.097), equal in 6 (the defaults won), lower in 3 (−0.022…−0.014); F1 fell by 0.271 in
 *   one (webrecorder: its validation-slice threshold flipped) and rose by up to 0.150 elsewhere.
 *
 * On pooled histories PR-AUC, what the search maximises, was never higher on the test slices (−0.007…0):
 * the settings' validation scores differ by less than a slice's noise there (0.693–0.701 on the dlci tuning
 * repos). On a single small repository the defaults (depth 6, leaf 20) overfit and the search finds a
 * shallower or slower shape. So `'auto'` searches only training sets of up to SEARCH_MAX_ROWS rows (the
 * measured gains were at ~500, the pooled sets from ~2,600 up were neutral; 5,000 keeps the 8 fits to
 * seconds) and is deterministic for the data and seed. Above it the search costs the sum of its fits for
 * nothing measured (`npm run bench -- ml-tune`: riskgate train's split of all of dlci-dev, 46,611 runs, on
 * the 2-core dev machine shared with seven other jobs: one fit 10.4 s, the search 63.2 s (6.1×), its 60 s
 * budget reached after 4 of 8 settings; holdout PR-AUC 0.722 searched vs 0.723 one fit).
 */
import type { Dataset } from './dataset.ts';
import { GBDT_DEFAULTS, type GbdtParams } from './gbdt.ts';
import { bestF1Threshold, prAuc } from './metrics.ts';
import type { RiskModel } from './model.ts';
import { trainModel, type TrainOptions } from './train.ts';

/**
 * 'auto' (the default of riskgate train, the retrain job and backtest) searches when the training set has at
 * most SEARCH_MAX_ROWS rows and fits GBDT_DEFAULTS once above that; true / false force either.
 */
export type TuneMode = boolean | 'auto';
export const SEARCH_MAX_ROWS = 5000;
export const searchesFor = (mode: TuneMode, trainRows: number, maxRows = SEARCH_MAX_ROWS): boolean =>
  mode === 'auto' ? trainRows <= maxRows : mode;

export interface TuneSetting {
  maxDepth: number;
  learningRate: number;
  minDataInLeaf: number;
}

export interface TuneTrial extends TuneSetting {
  rounds: number;
  /** Mean over validation groups (repos) of PR-AUC; groups without both classes are left out. */
  score: number;
  ms: number;
}

export interface TuneResult {
  model: RiskModel;
  chosen: TuneTrial;
  trials: TuneTrial[];
  /** True when the time budget stopped the search before the whole grid ran. */
  truncated: boolean;
}

/**
 * The grid; the product's former fixed setting comes first, so a budget that stops the walk after one fit
 * still gives the old model. Looked at only on the three dlci-dev tuning repos (jruby, rails,
 * open-build-service; cloudify and sonarqube held out, chosen beforehand as the two lowest sha256 of the
 * names): the eight settings score 0.693–0.701 mean validation PR-AUC there (depth 4, rate 0.05, leaf 200
 * best), so the search mostly guards against a history whose best shape differs, not for big gains.
 */
export const TUNE_GRID: readonly TuneSetting[] = [
  { maxDepth: 6, learningRate: 0.1, minDataInLeaf: 20 },
  { maxDepth: 4, learningRate: 0.1, minDataInLeaf: 50 },
  { maxDepth: 3, learningRate: 0.1, minDataInLeaf: 100 },
  { maxDepth: 5, learningRate: 0.05, minDataInLeaf: 100 },
  { maxDepth: 4, learningRate: 0.05, minDataInLeaf: 200 },
  { maxDepth: 6, learningRate: 0.05, minDataInLeaf: 50 },
  { maxDepth: 5, learningRate: 0.03, minDataInLeaf: 50 },
  { maxDepth: 3, learningRate: 0.03, minDataInLeaf: 200 },
];

/** Score of a validation slice: mean per-group PR-AUC (each repo counts once, as the backtest does). */
export function groupedPrAuc(y: Uint8Array, p: ArrayLike<number>, groups?: readonly string[]): number {
  if (!groups) return prAuc(y, p);
  const by = new Map<string, number[]>();
  for (let i = 0; i < y.length; i++) {
    let a = by.get(groups[i]);
    if (!a) by.set(groups[i], (a = []));
    a.push(i);
  }
  const scores: number[] = [];
  for (const rows of by.values()) {
    const ys = Uint8Array.from(rows, (i) => y[i]);
    const pos = ys.reduce((a, b) => a + b, 0);
    if (pos === 0 || pos === ys.length) continue;
    scores.push(
      prAuc(
        ys,
        Float64Array.from(rows, (i) => p[i]),
      ),
    );
  }
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : prAuc(y, p);
}

export async function tuneGbdt(
  train: Dataset,
  valid: Dataset,
  opts: TrainOptions & { validGroups?: readonly string[]; grid?: readonly TuneSetting[]; budgetMs?: number } = {},
): Promise<TuneResult> {
  const grid = opts.grid ?? TUNE_GRID;
  const budget = opts.budgetMs ?? 60_000;
  const t0 = performance.now();
  const trials: TuneTrial[] = [];
  let best: { model: RiskModel; trial: TuneTrial } | null = null;
  for (const s of grid) {
    if (trials.length > 0 && performance.now() - t0 > budget) break;
    const t = performance.now();
    // Slower learning needs more rounds before early stopping (on the validation slice) ends it.
    const maxRounds = Math.round(Math.max(GBDT_DEFAULTS.maxRounds, 30 / s.learningRate));
    const gbdt: Partial<GbdtParams> = {
      ...opts.gbdt,
      maxDepth: s.maxDepth,
      learningRate: s.learningRate,
      minDataInLeaf: s.minDataInLeaf,
      maxRounds,
    };
    const model = await trainModel('gbdt', train, valid, { ...opts, maxRounds: undefined, gbdt });
    const p = model.predictBatch(valid.X, valid.n);
    const trial: TuneTrial = {
      ...s,
      rounds: ((model as { meta?: Record<string, unknown> }).meta?.best_iteration as number | undefined) ?? 0,
      score: groupedPrAuc(valid.y, p, opts.validGroups),
      ms: Math.round(performance.now() - t),
    };
    trials.push(trial);
    if (!best || trial.score > best.trial.score + 1e-9) best = { model, trial };
  }
  return { model: best!.model, chosen: best!.trial, trials, truncated: trials.length < grid.length };
}

/**
 * F1-optimal thresholds per group (repo) on the validation slice; a group with fewer than `minFailures`
 * failures there keeps the global one (a threshold from a handful of failures is noise).
 */
export function thresholdsByGroup(
  y: Uint8Array,
  p: ArrayLike<number>,
  groups: readonly string[],
  fallback: number,
  minFailures = 20,
): Record<string, number> {
  const by = new Map<string, number[]>();
  for (let i = 0; i < y.length; i++) {
    let a = by.get(groups[i]);
    if (!a) by.set(groups[i], (a = []));
    a.push(i);
  }
  const out: Record<string, number> = {};
  for (const [g, rows] of [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ys = Uint8Array.from(rows, (i) => y[i]);
    const fails = ys.reduce((a, b) => a + b, 0);
    out[g] =
      fails < minFailures
        ? fallback
        : bestF1Threshold(
            ys,
            Float64Array.from(rows, (i) => p[i]),
          ).threshold;
  }
  return out;
}
