/**
 * Import + features + train on the 430,000-run travis-dev history, in a child process so its peak memory
 * is measured on its own; then the dlci-dev backtest against the previous-outcome baseline.
 * Skips cleanly when ../shared/datasets is absent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DATA = join(fileURLToPath(new URL('..', import.meta.url)), '..', 'shared', 'datasets');

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const travis = join(DATA, 'travis-dev.jsonl.gz');
  if (!existsSync(travis)) return { skipped: `no ${travis}` };
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-'));
  try {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./pipeline-child.ts', import.meta.url)), travis, dir],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      },
    );
    if (child.status !== 0) throw new Error(`pipeline child failed (${child.status})`);
    Object.assign(out, { travis: JSON.parse(child.stdout.trim().split('\n').pop()!) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const dlci = join(DATA, 'dlci-dev.jsonl.gz');
  const { loadRunFiles } = await import('../src/records/load.ts');
  const { backtest } = await import('../training/backtest.ts');
  const t0 = performance.now();
  const res = await backtest(await loadRunFiles([dlci], () => {}), { testFraction: 0.3 });
  out.dlci_backtest = {
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    mean: res.mean,
    baseline: res.baselineMean,
    gain: { f1: res.mean.f1 - res.baselineMean.f1, pr_auc: res.mean.pr_auc - res.baselineMean.pr_auc },
    bar: 'F1 gain >= 0.06 and PR-AUC gain >= 0.15',
    pass: res.mean.f1 - res.baselineMean.f1 >= 0.06 && res.mean.pr_auc - res.baselineMean.pr_auc >= 0.15,
    repos: res.repos.map((r) => ({
      repo: r.repo,
      f1: +r.f1.toFixed(3),
      pr_auc: +r.pr_auc.toFixed(3),
      base_f1: +r.baseline.f1.toFixed(3),
      base_pr: +r.baseline.pr_auc.toFixed(3),
    })),
  };
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2));
