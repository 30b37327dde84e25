import { parseArgs } from 'node:util';
import { ALL_KINDS, comparisonTable, trainFromStore } from '../../training/pipeline.ts';
import type { ModelKind } from '../ml/model.ts';
import { defaultPaths, openDefaultStore } from './shared.ts';

export const summary = 'Train every candidate model on stored history and register the best';
export const help = `Usage: riskgate train [--repo OWNER/NAME] [--until ISO] [--models gbdt,forest,mlp,baseline]
                      [--challenger] [--tune | --no-tune] [--db FILE] [--models-dir DIR] [--timezone ZONE]

Frames the stored history with the shared feature module, trains each candidate on the oldest 70 %,
tunes on the next 15 % and compares them on the newest 15 % (ROC-AUC, PR-AUC, F1, Brier, training
time). Per-repo F1 thresholds are chosen on the validation slice and recorded in the model's manifest.
On a training set of up to 5,000 runs (or with --tune) the gbdt's depth, learning rate and leaf size come
from a small forward-validated search (rounds by early stopping, deterministic for the seed, within 60 s;
recorded in the manifest too); it paid off on single small repositories and not on larger histories,
where --no-tune is the default. The best by PR-AUC is registered under the models folder and becomes the champion
(or, with --challenger, waits as a challenger for the champion/challenger check).

Examples:
  riskgate train
  riskgate train --repo acme/web --until 2024-06-01T00:00:00Z --models gbdt,baseline`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      until: { type: 'string' },
      models: { type: 'string' },
      challenger: { type: 'boolean' },
      tune: { type: 'boolean' },
      'no-tune': { type: 'boolean' },
      db: { type: 'string' },
      'models-dir': { type: 'string' },
      timezone: { type: 'string' },
    },
  });
  const kinds = values.models ? (values.models.split(',').map((s) => s.trim()) as ModelKind[]) : ALL_KINDS;
  const bad = kinds.filter((k) => !ALL_KINDS.includes(k));
  if (bad.length) {
    console.error(`riskgate train: unknown model kind(s) ${bad.join(', ')} (choose from ${ALL_KINDS.join(', ')})`);
    return 2;
  }
  if (values.tune && values['no-tune']) {
    console.error('riskgate train: --tune and --no-tune contradict each other (give one or neither)');
    return 2;
  }
  if (values.until && Number.isNaN(Date.parse(values.until))) {
    console.error(`riskgate train: --until "${values.until}" is not an ISO 8601 time`);
    return 2;
  }
  const store = openDefaultStore(values.db);
  try {
    const { run, manifest } = await trainFromStore({
      store,
      modelsDir: values['models-dir'] ?? defaultPaths().modelsDir,
      repo: values.repo,
      until: values.until,
      timezone: values.timezone ?? process.env.RISKGATE_TIMEZONE,
      kinds,
      promote: !values.challenger,
      tune: values.tune ? true : values['no-tune'] ? false : 'auto',
      log: (m) => console.error(m),
    });
    console.log(comparisonTable(run));
    const t = run.best.tuning;
    if (t) console.log(`\ntuned gbdt: depth ${t.chosen.maxDepth}, learning rate ${t.chosen.learningRate}, min leaf ${t.chosen.minDataInLeaf}, ${t.chosen.rounds} rounds (best validation PR-AUC of ${t.trials.length} settings${t.truncated ? '; time budget reached' : ''}); recorded in the manifest's decision.tuning`);
    console.log(`\nregistered ${manifest.id} (${manifest.kind}) as ${manifest.status}; rows: ${run.rows.train} train / ${run.rows.valid} valid / ${run.rows.holdout} holdout`);
    return 0;
  } finally {
    store.close();
  }
}
