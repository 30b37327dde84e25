import { resolve } from 'node:path';
import { ALL_KINDS, comparisonTable, trainFromStore } from '../../training/pipeline.ts';
import type { ModelKind } from '../ml/model.ts';
import { parseCommandArgs } from './args.ts';
import { defaultPaths, openDefaultStore, progressLog, storePath } from './shared.ts';

export const summary = 'Train every candidate model on stored history and register the best';
export const help = `Usage: riskgate train [--repo OWNER/NAME] [--until ISO] [--models gbdt,forest,mlp,baseline]
                      [--challenger | --promote] [--db FILE] [--models-dir DIR] [--timezone ZONE]

Frames the stored history with the shared feature module, trains each candidate on the oldest 70 %,
tunes on the next 15 % and compares them on the newest 15 % (ROC-AUC, PR-AUC, F1, Brier, training
time). The best by PR-AUC is registered under the models folder.

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
  const timezone = values.timezone ?? process.env.RISKGATE_TIMEZONE;
  const progress = progressLog('riskgate train');
  try {
    if (!values.challenger && !values.promote) {
      // The champion/challenger rule, exactly as the scheduled retrain applies it.
      const { retrainOnce } = await import('../../training/jobs/retrain.ts');
      const { marginsFromEnv } = await import('../../training/challenger.ts');
      let table = '';
      const r = await retrainOnce({ store, modelsDir, repo: values.repo, until: values.until, timezone, kinds, margins: marginsFromEnv(), log: progress.log, onRun: (run) => (table = comparisonTable(run)) });
      progress.done();
      console.log(table);
      const verdict = r.promoted
        ? `registered ${r.challenger} (${r.kind}) as champion${r.previous_champion ? `, replacing ${r.previous_champion}` : ''}`
        : `registered ${r.challenger} (${r.kind}) as rejected: ${r.champion} stays champion (\`riskgate models promote ${r.challenger} --reason …\` overrides)`;
      console.log(`\n${verdict} (store ${storePath(values.db)}, models ${resolve(modelsDir)})\n  ${r.decision.reasons.join('\n  ')}`);
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
      log: progress.log,
    });
    progress.done();
    console.log(comparisonTable(run));
    console.log(`\nregistered ${manifest.id} (${manifest.kind}) as ${manifest.status}; rows: ${run.rows.train} train / ${run.rows.valid} valid / ${run.rows.holdout} holdout`);
    return 0;
  } finally {
    progress.done();
    store.close();
  }
}
