import { resolve } from 'node:path';
import { ALL_KINDS, comparisonTable, trainFromStore } from '../../training/pipeline.ts';
import { commandSettings } from '../config/commands.ts';
import type { ModelKind } from '../ml/model.ts';
import { parseCommandArgs } from './args.ts';
import { defaultPaths, openDefaultStore, progressLog, storePath } from './shared.ts';

export const summary = 'Train every candidate model on stored history and register the best';
export const help = `Usage: riskgate train [--repo OWNER/NAME] [--until ISO] [--models gbdt,forest,mlp,baseline]
                      [--challenger | --promote] [--tune | --no-tune] [--db FILE] [--models-dir DIR] [--timezone ZONE]

Frames the stored history with the shared feature module, trains each candidate on the oldest 70 %,
tunes on the next 15 % and compares them on the newest 15 % (ROC-AUC, PR-AUC, F1, Brier, training
time). Per-repo F1 thresholds are chosen on the validation slice and recorded in the model's manifest.
On a training set of up to 5,000 runs (or with --tune) the gbdt's depth, learning rate and leaf size come
from a small forward-validated search (rounds by early stopping, deterministic for the seed, within 60 s;
recorded in the manifest too); it paid off on single small repositories and not on larger histories,
where --no-tune is the default. The best by PR-AUC is registered under the models folder.

It becomes the champion only when it is better: with no champion yet it takes over; otherwise the champion is
scored on the same newest holdout and the new model is promoted only if it gains PR-AUC without losing F1 or
calibration (the RISKGATE_PROMOTE_* margins, as in the weekly retrain), else it is registered as "rejected"
with the reasons. --challenger registers it as a challenger without comparing (for \`riskgate models trial\`);
--promote makes it champion regardless.

Examples:
  riskgate train
  riskgate train --repo acme/web --until 2024-06-01T00:00:00Z --models gbdt,baseline`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    options: {
      repo: { type: 'string' },
      until: { type: 'string' },
      models: { type: 'string' },
      challenger: { type: 'boolean' },
      tune: { type: 'boolean' },
      'no-tune': { type: 'boolean' },
      promote: { type: 'boolean' },
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
  if (values.challenger && values.promote) {
    console.error('riskgate train: --challenger and --promote exclude each other');
    return 2;
  }
  const store = openDefaultStore(values.db);
  const modelsDir = values['models-dir'] ?? defaultPaths().modelsDir;
  const timezone = values.timezone ?? commandSettings().timezone;
  const progress = progressLog('riskgate train');
  try {
    if (!values.challenger && !values.promote) {
      // The champion/challenger rule, exactly as the scheduled retrain applies it.
      const { retrainOnce } = await import('../../training/jobs/retrain.ts');
      const { marginsFromEnv } = await import('../config/background.ts');
      let table = '';
      const r = await retrainOnce({
        store,
        modelsDir,
        repo: values.repo,
        until: values.until,
        timezone,
        kinds,
        margins: marginsFromEnv(),
        log: progress.log,
        onRun: (run) => (table = comparisonTable(run)),
      });
      progress.done();
      console.log(table);
      const verdict = r.promoted
        ? `registered ${r.challenger} (${r.kind}) as champion${r.previous_champion ? `, replacing ${r.previous_champion}` : ''}`
        : `registered ${r.challenger} (${r.kind}) as rejected: ${r.champion} stays champion (\`riskgate models promote ${r.challenger} --reason …\` overrides)`;
      console.log(
        `\n${verdict} (store ${storePath(values.db)}, models ${resolve(modelsDir)})\n  ${r.decision.reasons.join('\n  ')}`,
      );
      return 0;
    }
    const { run, manifest } = await trainFromStore({
      store,
      modelsDir,
      repo: values.repo,
      until: values.until,
      timezone,
      kinds,
      promote: values.promote === true,
      tune: values.tune ? true : values['no-tune'] ? false : 'auto',
      log: progress.log,
    });
    progress.done();
    console.log(comparisonTable(run));
    const t = run.best.tuning;
    if (t)
      console.log(
        `\ntuned gbdt: depth ${t.chosen.maxDepth}, learning rate ${t.chosen.learningRate}, min leaf ${t.chosen.minDataInLeaf}, ${t.chosen.rounds} rounds (best validation PR-AUC of ${t.trials.length} settings${t.truncated ? '; time budget reached' : ''}); recorded in the manifest's decision.tuning`,
      );
    console.log(
      `\nregistered ${manifest.id} (${manifest.kind}) as ${manifest.status}; rows: ${run.rows.train} train / ${run.rows.valid} valid / ${run.rows.holdout} holdout`,
    );
    return 0;
  } finally {
    progress.done();
    store.close();
  }
}
