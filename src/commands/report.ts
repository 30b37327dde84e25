import { existsSync } from 'node:fs';
import { computeDora, DEFAULT_DEPLOY_WORKFLOWS } from '../report/dora.ts';
import { detectFlaky } from '../report/flaky.ts';
import { formatReport } from '../report/table.ts';
import { defaultPaths, openDefaultStore } from './shared.ts';
import { parseCommandArgs } from './args.ts';

export const summary = 'Delivery report for a repo: the DORA four per week and flaky runs (table or JSON)';
export const help = `Usage: riskgate report --repo OWNER/NAME [--weeks 12] [--json] [--db data/riskgate.db]
                       [--timezone UTC] [--deploy-workflows REGEX] [--default-branch main]

Computes from the stored run history, per week (Monday-based, in --timezone) and in total:
  deployment frequency, lead time proxy (p50), change failure rate, time to restore (p50),
plus flaky runs (an attempt failed and a re-run of the same commit passed) and each workflow's flaky rate.
Deployments are successful runs of workflows matching --deploy-workflows (default ${DEFAULT_DEPLOY_WORKFLOWS}) when the
repo has any, otherwise successful push runs on the default branch. Definitions: docs/report.md.

Options:
  --repo R               repository to report on (required)
  --weeks N              the last N weeks up to the newest run (default 12)
  --json                 print JSON { repo, dora, flaky } instead of tables
  --db FILE              store to read (default ${defaultPaths().db})
  --timezone TZ          IANA zone for week boundaries (default UTC)
  --deploy-workflows RE  workflows that deploy (case-insensitive regular expression)
  --default-branch B     branch deployments come from (default: detected, usually main)

Exit codes: 0 report printed, 2 bad arguments or unknown repo, 1 failure.

Examples:
  riskgate report --repo acme/web
  riskgate report --repo acme/web --weeks 26 --timezone Europe/Berlin
  riskgate report --repo acme/api --json --db /var/lib/riskgate/riskgate.db | jq '.dora.totals'`;

export interface ReportIo {
  out(text: string): void;
  err(text: string): void;
}

const consoleIo: ReportIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

export async function report(argv: string[], io: ReportIo = consoleIo): Promise<number> {
  const usage = (msg: string) => {
    io.err(`riskgate report: ${msg}\n\nRun \`riskgate report --help\` for usage.`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseCommandArgs(argv, {
      options: {
        repo: { type: 'string' },
        weeks: { type: 'string' },
        json: { type: 'boolean' },
        db: { type: 'string' },
        timezone: { type: 'string' },
        'deploy-workflows': { type: 'string' },
        'default-branch': { type: 'string' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (!values.repo) return usage('--repo is required');
  const weeksText = values.weeks ?? '12';
  if (!/^\d+$/.test(weeksText) || Number(weeksText) < 1 || Number(weeksText) > 520)
    return usage(`--weeks: must be an integer from 1 to 520, got "${weeksText}"`);
  let deployWorkflows: RegExp | undefined;
  if (values['deploy-workflows'] !== undefined) {
    try {
      deployWorkflows = new RegExp(values['deploy-workflows'], 'i');
    } catch (err) {
      return usage(`--deploy-workflows: ${(err as Error).message}`);
    }
  }
  const timezone = values.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return usage(`--timezone: unknown IANA time zone "${timezone}"`);
  }
  const db = values.db ?? defaultPaths().db;
  // Opening a missing file would create an empty store; a typo in --db should say so instead.
  if (db !== ':memory:' && !existsSync(db))
    return usage(`--db: no store at ${db} (run \`riskgate import\` or \`riskgate ingest\` first)`);

  const store = openDefaultStore(db);
  try {
    if (!store.repos().includes(values.repo)) {
      const known = store.repos();
      return usage(`unknown repo "${values.repo}"; the store has ${known.length ? known.join(', ') : 'no repos'}`);
    }
    const runs = [...store.iterateRuns({ repo: values.repo })];
    const dora = computeDora(runs, {
      weeks: Number(weeksText),
      timezone,
      deployWorkflows,
      defaultBranch: values['default-branch'],
    });
    const flaky = detectFlaky(runs);
    io.out(values.json ? JSON.stringify({ repo: values.repo, dora, flaky }, null, 2) : formatReport(dora, flaky));
    return 0;
  } finally {
    store.close();
  }
}

export function run(argv: string[]): Promise<number> {
  return report(argv);
}
