import { importFiles } from '../records/import.ts';
import { parseCommandArgs } from './args.ts';
import { openDefaultStore, progressDone, progressLine, storePath } from './shared.ts';

export const summary = 'Import canonical run records from .jsonl / .jsonl.gz files into the store';
export const help = `Usage: riskgate import FILE... [--db data/riskgate.db]

Validates every line against the canonical run record. A bad line is reported as FILE:LINE: reason,
skipped, and the rest still loads. Re-importing the same file changes nothing.

Exit codes: 0 all lines imported, 2 some lines were bad (the good ones are stored), 1 failure.

Examples:
  riskgate import history.jsonl.gz
  riskgate import runs-2024-*.jsonl --db /var/lib/riskgate/riskgate.db`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    allowPositionals: true,
    options: { db: { type: 'string' } },
  });
  if (positionals.length === 0) {
    console.error('riskgate import: no FILE given\n\n' + help);
    return 2;
  }
  const store = openDefaultStore(values.db);
  const t0 = Date.now();
  try {
    const sum = await importFiles(store, positionals, {
      onBad: (b) => console.error(`${b.file}:${b.line}: ${b.reason}`),
      onProgress: (s) => progressLine(`imported ${s.records.toLocaleString()} records (${s.bad.length} bad)…`),
    });
    progressDone();
    console.log(
      `${sum.records} records from ${sum.files} file(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
        `${sum.inserted} new, ${sum.updated} updated, ${sum.unchanged} unchanged, ${sum.bad.length} bad line(s); store ${storePath(values.db)}`,
    );
    return sum.bad.length > 0 ? 2 : 0;
  } finally {
    store.close();
  }
}
