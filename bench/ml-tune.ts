/**
 * What `riskgate train`'s shape search costs against one fit, on the same frame and split as the command
 * (trainCandidates: oldest 70 % train, next 15 % validation, newest 15 % holdout), and what it buys on the
 * holdout. Run: npm run bench -- ml-tune   (BENCH_TUNE_FILE=x.jsonl for another history; default dlci-dev)
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<Record<string, unknown>> {
  const file = process.env.BENCH_TUNE_FILE ?? join(here, '..', '..', 'shared', 'datasets', 'dlci-dev.jsonl.gz');
  if (!existsSync(file)) return { skipped: `no ${file}` };
  const { loadRunFiles } = await import('../src/records/load.ts');
  const { buildFrame } = await import('../src/features/frame.ts');
  const { trainCandidates } = await import('../training/pipeline.ts');
  const frame = buildFrame(await loadRunFiles([file], () => {}));
  const f = (x: number) => +x.toFixed(3);
  const fit = async (tune: boolean) => {
    const t0 = performance.now();
    const r = await trainCandidates(frame, { kinds: ['gbdt'], tune, seed: 1 });
    const c = r.candidates[0];
    return {
      seconds: f((performance.now() - t0) / 1000),
      pr_auc: f(c.metrics.pr_auc),
      roc_auc: f(c.metrics.roc_auc),
      f1: f(c.metrics.f1),
      chosen: c.tuning?.chosen,
      settings: c.tuning?.trials.length,
    };
  };
  await fit(false); // warm-up (JIT)
  const one = await fit(false);
  const tuned = await fit(true);
  return { file, rows: frame.n, one_fit: one, tuned, time_ratio_tuned_over_one_fit: f(tuned.seconds / one.seconds) };
}
