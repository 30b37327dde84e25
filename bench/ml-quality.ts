/**
 * Model quality on the fixed dlci-dev split of issue 19: tuned on jruby, rails and open-build-service,
 * held out CloudifySource/cloudify and SonarSource/sonarqube (chosen beforehand as the two lowest sha256 of
 * the names), the last 30 % of each repo's runs being its test set. Prints F1, PR-AUC, ROC-AUC against the
 * previous-outcome baseline and the first-failure slice, overall and per repo.
 *
 *   npm run bench -- ml-quality
 *   BENCH_QUALITY_REPOS=tuning|heldout|all  (default heldout)   BENCH_QUALITY_TUNE=0|1  (shape search never / always; default 'auto')
 *   BENCH_QUALITY_DROP=feature,feature      (ablation: train and score without those columns)
 *   BENCH_QUALITY_GBDT=4/0.05/200           (with TUNE=0: one fixed depth / learning rate / min leaf)
 *   BENCH_QUALITY_FILE=x.jsonl BENCH_QUALITY_TUNING=a/b,… BENCH_QUALITY_HELDOUT=c/d,…  (another history)
 *
 * Feature decisions are taken on the tuning repos only; the held-out ones are looked at once they are made.
 * dlci-dev has no file paths, so the change features were also judged on real builds that have them:
 * bench/ml-quality-git.py gives 16 travis-dev repositories' push builds their commits' files from git mirrors
 * (held out: the 5 lowest sha256 names, jhalterman/failsafe, apache/curator, tus/tusd, moul/assh,
 * sup-heliotrope/sup; tuned on go-jose, webrecorder, shopqi, mybatis/spring, direnv, go-micro,
 * equalsverifier, gns3-gui, active_merchant, jeromq, argcomplete). Measured 2026-12-05, untuned gbdt:
 * - the path features (touches_deps/ci, share_test/docs/source), never measured before as no dataset had
 *   paths: tuning repos PR-AUC +0.018, ROC-AUC +0.007, first-failure ROC-AUC 0.665 → 0.673; held out F1
 *   0.594 → 0.625, PR-AUC 0.662 → 0.683, ROC-AUC 0.748 → 0.766, first-failure 0.603 → 0.636. Kept.
 * - files added/removed/renamed, share of changed lines in test/source files, "source without tests":
 *   tuning PR-AUC −0.004…+0.001 over the paths alone (removed/renamed were never split on). Not kept.
 * - size against the repo's norm (files vs median, churn rank among the last 50), churn per file, churn and
 *   runs since the last success, churn of the last 24 h, previous run's files: each −0.008…+0.002 PR-AUC on
 *   the dlci tuning repos and −0.006…+0.002 on the travis ones, never consistently positive. Not kept.
 * - churn and commit count since the previous built commit of the branch (`git diff --shortstat prev..sha`,
 *   what GitHub's compare API would give at one more request per run; 6,236 push builds): tuning PR-AUC
 *   +0.002, ROC-AUC +0.000, first-failure ROC-AUC +0.005 over the paths. Not worth the requests: not kept.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureName } from '../src/features/definition.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const TUNING_REPOS = ['jruby/jruby', 'rails/rails', 'openSUSE/open-build-service'];
export const HELDOUT_REPOS = ['CloudifySource/cloudify', 'SonarSource/sonarqube'];

export async function run(): Promise<Record<string, unknown>> {
  const file = process.env.BENCH_QUALITY_FILE ?? join(here, '..', '..', 'shared', 'datasets', 'dlci-dev.jsonl.gz');
  if (!existsSync(file)) return { skipped: `no ${file}` };
  const which = process.env.BENCH_QUALITY_REPOS ?? 'heldout';
  const named = (v: string | undefined, dflt: string[]) => (v ? v.split(',') : dflt);
  const tuning = named(process.env.BENCH_QUALITY_TUNING, TUNING_REPOS);
  const heldout = named(process.env.BENCH_QUALITY_HELDOUT, HELDOUT_REPOS);
  const repos = which === 'tuning' ? tuning : which === 'all' ? [...tuning, ...heldout] : heldout;
  const env = process.env.BENCH_QUALITY_TUNE;
  const tune = env === '0' ? false : env === '1' ? true : 'auto';
  const drop = (process.env.BENCH_QUALITY_DROP ?? '').split(',').filter(Boolean) as FeatureName[];
  // A fixed shape instead of the defaults (with BENCH_QUALITY_TUNE=0): "depth/learning rate/min leaf".
  const shape = process.env.BENCH_QUALITY_GBDT?.split('/').map(Number);
  const gbdt = shape
    ? {
        maxDepth: shape[0],
        learningRate: shape[1],
        minDataInLeaf: shape[2],
        maxRounds: Math.round(Math.max(300, 30 / shape[1])),
      }
    : undefined;
  const { loadRunFiles } = await import('../src/records/load.ts');
  const { backtest } = await import('../training/backtest.ts');
  const records = (await loadRunFiles([file], () => {})).filter((r) => repos.includes(r.repo));
  const found = new Set(records.map((r) => r.repo));
  const missing = repos.filter((r) => !found.has(r));
  if (missing.length) return { error: `dlci-dev has no runs of ${missing.join(', ')}` };
  const t0 = performance.now();
  const r = await backtest(records, { tune, dropFeatures: drop, seed: 1, train: gbdt ? { gbdt } : undefined });
  const f = (x: number) => +x.toFixed(3);
  return {
    repos: which,
    tune,
    dropped: drop,
    gbdt,
    seconds: f((performance.now() - t0) / 1000),
    mean: { f1: f(r.mean.f1), pr_auc: f(r.mean.pr_auc), roc_auc: f(r.mean.roc_auc) },
    baseline: { f1: f(r.baselineMean.f1), pr_auc: f(r.baselineMean.pr_auc), roc_auc: f(r.baselineMean.roc_auc) },
    vs_baseline: {
      f1: f(r.mean.f1 - r.baselineMean.f1),
      pr_auc: f(r.mean.pr_auc - r.baselineMean.pr_auc),
      roc_auc: f(r.mean.roc_auc - r.baselineMean.roc_auc),
    },
    first_failure_roc_auc: f(r.sliceMean.after_success.roc_auc),
    per_repo: Object.fromEntries(
      r.repos.map((x) => [
        x.repo,
        {
          f1: f(x.f1),
          pr_auc: f(x.pr_auc),
          roc_auc: f(x.roc_auc),
          base: { f1: f(x.baseline.f1), pr_auc: f(x.baseline.pr_auc), roc_auc: f(x.baseline.roc_auc) },
          first_failure_roc_auc: f(x.after_success.roc_auc),
          first_failure_pr_auc: f(x.after_success.pr_auc),
        },
      ]),
    ),
    tuning: r.tuning
      ? {
          chosen: r.tuning.chosen,
          truncated: r.tuning.truncated,
          trials: r.tuning.trials.map(
            (t) =>
              `${t.maxDepth}/${t.learningRate}/${t.minDataInLeaf}: ${t.rounds} rounds, ${t.score.toFixed(4)}, ${t.ms} ms`,
          ),
        }
      : undefined,
  };
}
