import { join } from 'node:path';
import { importFiles } from '../src/records/import.ts';
import { openStore } from '../src/store/sqlite.ts';
import { buildFrame } from '../src/features/frame.ts';
import { trainCandidates } from '../training/pipeline.ts';

const [file, dir] = process.argv.slice(2);
const t0 = performance.now();
const store = openStore(join(dir, 'bench.db'));
const imp = await importFiles(store, [file]);
const t1 = performance.now();
const frame = buildFrame(store.iterateRuns());
const t2 = performance.now();
const run = await trainCandidates(frame, { kinds: ['gbdt'] });
const t3 = performance.now();
store.close();
const s = (ms: number) => +(ms / 1000).toFixed(1);
console.log(
  JSON.stringify({
    runs: imp.records,
    rows: frame.n,
    import_s: s(t1 - t0),
    features_s: s(t2 - t1),
    train_s: s(t3 - t2),
    total_s: s(t3 - t0),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    holdout_pr_auc: +run.best.metrics.pr_auc.toFixed(3),
    bar: 'total < 180 s, peak < 4096 MB',
    pass: t3 - t0 < 180_000 && process.resourceUsage().maxRSS / 1024 < 4096,
  }),
);
