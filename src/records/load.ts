import type { BadLine } from './read.ts';
import { readRunFile } from './read.ts';
import { runKey, type RunRecord } from './schema.ts';
import { compareCreatedOrder } from '../features/history.ts';

/**
 * Reads whole files into memory in the canonical (repo, created_at, run_id, run_attempt) order, keeping the
 * last record per key exactly as an import would — so a backtest on a file equals one on the imported store.
 */
export async function loadRunFiles(files: string[], onBad: (b: BadLine) => void): Promise<RunRecord[]> {
  const byKey = new Map<string, RunRecord>();
  for (const f of files) for await (const r of readRunFile(f, onBad)) byKey.set(runKey(r), r);
  return [...byKey.values()].sort((a, b) => (a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : compareCreatedOrder(a, b)));
}
