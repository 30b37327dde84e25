import type { Store, UpsertResult } from '../store/types.ts';
import { readRunFile, type BadLine } from './read.ts';
import type { RunRecord } from './schema.ts';

export interface ImportSummary extends UpsertResult {
  files: number;
  records: number;
  bad: BadLine[];
}

const BATCH = 5000;

/** Imports files into the store in batches; each batch is one transaction, so a crash keeps a consistent prefix. */
export async function importFiles(
  store: Store,
  files: string[],
  opts: { onBad?: (b: BadLine) => void; onProgress?: (s: ImportSummary) => void } = {},
): Promise<ImportSummary> {
  const sum: ImportSummary = { files: 0, records: 0, inserted: 0, updated: 0, unchanged: 0, bad: [] };
  const onBad = (b: BadLine) => {
    sum.bad.push(b);
    opts.onBad?.(b);
  };
  let batch: RunRecord[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const r = store.upsertRuns(batch);
    sum.inserted += r.inserted;
    sum.updated += r.updated;
    sum.unchanged += r.unchanged;
    batch = [];
    opts.onProgress?.(sum);
  };
  for (const file of files) {
    sum.files++;
    for await (const rec of readRunFile(file, onBad)) {
      sum.records++;
      batch.push(rec);
      if (batch.length >= BATCH) flush();
    }
    flush();
  }
  return sum;
}
