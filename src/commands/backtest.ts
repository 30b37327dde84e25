import { writeFileSync } from 'node:fs';
import { backtest, backtestReport, predictionsCsv } from '../../training/backtest.ts';
import { ALL_KINDS } from '../../training/pipeline.ts';
import { commandSettings } from '../config/commands.ts';
import type { ModelKind } from '../ml/model.ts';
import { loadRunFiles } from '../records/load.ts';
import { failureLabel } from '../records/schema.ts';
import { openDefaultStore, progressLog, storePath } from './shared.ts';
import { parseCommandArgs } from './args.ts';

export const summary = 'Replay history forward in time and score each test run with only what was known before it';
export const help = `Usage: riskgate backtest --data FILE [--test-fraction 0.3] [--out predictions.csv]
                         [--model gbdt|forest|mlp|baseline] [--tune | --no-tune] [--unseen-repos] [--json] [--timezone ZONE]
                         [--db FILE | --no-save]

For each repo the last --test-fraction of its success/failure runs are the test set; the model trains
on everything before them (all repos together) and scores each test run in time order with only the
outcomes known before its created_at. Each repo's threshold is chosen on its validation slice; as in
riskgate train, the gbdt's shape comes from a forward-validated search first when it trains on up to
5,000 runs (--tune: always, --no-tune: never). Beside the overall figures it reports, per repo, the runs after
a success (their failures are first failures, which the baseline never flags) and after a failure
(repeated failures) separately. With --unseen-repos each repo is scored by a model trained
without any of its runs (how well it does on a repository it has never seen). Writes repo,run_id,probability,predicted_failure per test run
and prints per-repo and mean F1, PR-AUC and ROC-AUC next to the previous-outcome baseline. The summary is
saved in the store (--db, default data/riskgate.db) as the dashboard's "last backtest" unless --no-save.

Examples:
  riskgate backtest --data ../shared/datasets/dlci-dev.jsonl.gz --out predictions.csv
  riskgate backtest --data history.jsonl --test-fraction 0.2 --model forest --json`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    options: {
      data: { type: 'string', multiple: true },
      'test-fraction': { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean' },
      'unseen-repos': { type: 'boolean' },
      tune: { type: 'boolean' },
      'no-tune': { type: 'boolean' },
      timezone: { type: 'string' },
      db: { type: 'string' },
      'no-save': { type: 'boolean' },
    },
  });
  if (!values.data?.length) {
    console.error('riskgate backtest: --data FILE is required\n\n' + help);
    return 2;
  }
  const tf = values['test-fraction'] === undefined ? 0.3 : Number(values['test-fraction']);
  if (!(tf > 0 && tf < 1)) {
    console.error(
      `riskgate backtest: --test-fraction must be a number between 0 and 1, got "${values['test-fraction']}"`,
    );
    return 2;
  }
  if (values.tune && values['no-tune']) {
    console.error('riskgate backtest: --tune and --no-tune contradict each other (give one or neither)');
    return 2;
  }
  const kind = (values.model ?? 'gbdt') as ModelKind;
  if (!ALL_KINDS.includes(kind)) {
    console.error(`riskgate backtest: unknown --model "${kind}" (choose from ${ALL_KINDS.join(', ')})`);
    return 2;
  }
  let bad = 0;
  const records = await loadRunFiles(values.data, (b) => {
    bad++;
    if (bad <= 20) console.error(`${b.file}:${b.line}: ${b.reason}`);
  });
  if (bad > 20) console.error(`… ${bad - 20} more bad lines`);
  const learnable = records.filter((r) => failureLabel(r.conclusion) !== null).length;
  if (learnable < 2) {
    console.error(
      `riskgate backtest: ${learnable} run(s) with a success/failure outcome in ${values.data.join(', ')}; nothing to backtest`,
    );
    return 2;
  }
  const progress = progressLog('riskgate backtest');
  let result: Awaited<ReturnType<typeof backtest>>;
  try {
    result = await backtest(records, {
      testFraction: tf,
      model: kind,
      unseenRepos: values['unseen-repos'],
      tune: values.tune ? true : values['no-tune'] ? false : 'auto',
      timezone: values.timezone ?? commandSettings().timezone,
      log: progress.log,
    });
  } finally {
    progress.done();
  }
  if (values.out) writeFileSync(values.out, predictionsCsv(result));
  if (values.json) {
    const { model, threshold, thresholds, repos, mean, baselineMean: baseline, sliceMean: slices, tuning } = result;
    console.log(JSON.stringify({ model, threshold, thresholds, repos, mean, baseline, slices, tuning }, null, 2));
  } else console.log(backtestReport(result));
  if (!values['no-save']) {
    // The dashboard's model page shows this as "last backtest" (docs/dashboard.md); nothing wrote it before.
    const { model, threshold, repos, mean, baselineMean } = result;
    const store = openDefaultStore(values.db);
    try {
      store.setState(
        'backtest:last',
        JSON.stringify({
          at: new Date().toISOString(),
          data: values.data,
          test_fraction: tf,
          model,
          threshold,
          repos,
          mean,
          baselineMean,
        }),
      );
    } finally {
      store.close();
    }
    console.error(`saved as the dashboard's last backtest in ${storePath(values.db)}`);
  }
  // PR-AUC and ROC-AUC are undefined for a repo whose test runs are all one outcome (3 runs: often).
  const undefinedRepos = result.repos.filter((r) => !Number.isFinite(r.pr_auc) || !Number.isFinite(r.roc_auc));
  if (undefinedRepos.length) {
    console.error(
      `warning: PR-AUC/ROC-AUC are undefined (NaN) for ${undefinedRepos.map((r) => `${r.repo} (${r.test_runs} test runs, ${(r.failure_rate * 100).toFixed(0)} % failed)`).join(', ')}: ` +
        `a test set needs both failures and successes; backtest more history (${learnable} learnable runs here) or raise --test-fraction`,
    );
  }
  return bad > 0 ? 2 : 0;
}
