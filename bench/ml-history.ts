/**
 * Statistics of real run histories (../shared/datasets) beside the bundled sample's, the figures the
 * simulator is calibrated to. Run: node --import tsx bench/ml-history.ts   (or `npm run bench -- ml-history`)
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyStats } from '../training/history-stats.ts';
import { simulateHistory, SAMPLE_HISTORY_OPTIONS } from '../src/simulate/history.ts';

const here = dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const { loadRunFiles } = await import('../src/records/load.ts');
  for (const name of ['dlci-dev', 'travis-dev']) {
    const file = join(here, '..', '..', 'shared', 'datasets', `${name}.jsonl.gz`);
    out[name] = existsSync(file) ? historyStats(await loadRunFiles([file], () => {})) : `skipped: no ${file}`;
  }
  out.sample = historyStats(simulateHistory(SAMPLE_HISTORY_OPTIONS));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await run(), null, 2));
}
