import { parseCommandArgs } from './args.ts';
import { defaultPaths, openDefaultStore } from './shared.ts';

export const summary = 'Show the background jobs (schedule, last run, duration, result) or run one now';
export const help = `Usage: riskgate jobs [--json] [--history N] [--db FILE]
       riskgate jobs run ingest|retrain|evaluate [--db FILE] [--models-dir DIR]

Lists the schedule of each background job (ingest new history, retrain, re-evaluate the champion), when it
last ran, how long it took and what came of it. The schedule comes from RISKGATE_INGEST_CRON,
RISKGATE_RETRAIN_CRON and RISKGATE_EVALUATE_CRON. "run" runs one job now, under the same lock as the
scheduler (it is skipped if another process is running it).

Examples:
  riskgate jobs
  riskgate jobs --json --history 10
  riskgate jobs run retrain`;

function summarize(
  job: string,
  e: { status: string; result?: Record<string, unknown>; error?: string; reason?: string },
): string {
  if (e.status === 'error') return `error: ${e.error}`;
  if (e.status === 'skipped') return `skipped: ${e.reason}`;
  const r = e.result ?? {};
  if (r.skipped) return `nothing to do: ${r.skipped}`;
  if (job === 'retrain')
    return `${r.challenger} ${r.promoted ? 'promoted' : r.on_trial ? 'on shadow trial' : 'rejected'}`;
  if (job === 'evaluate') {
    const off = r.offline as
      { evaluated?: boolean; metrics?: { pr_auc: number }; champion?: string; reason?: string } | undefined;
    return off?.evaluated
      ? `${off.champion} PR-AUC ${off.metrics!.pr_auc.toFixed(3)} on the newest runs`
      : `not evaluated: ${off?.reason}`;
  }
  if (job === 'ingest') {
    const repos = (r.repos as { repo: string; inserted: number }[]) ?? [];
    return repos.map((x) => `${x.repo} +${x.inserted}`).join(', ') || 'ok';
  }
  return 'ok';
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      history: { type: 'string' },
      db: { type: 'string' },
      'models-dir': { type: 'string' },
    },
  });
  const { JOB_NAMES, createScheduler, describeJobs, jobHistory } = await import('../../training/scheduler.ts');
  const { schedulerConfigFromEnv } = await import('../config/background.ts');
  let config;
  try {
    config = schedulerConfigFromEnv();
  } catch (err) {
    console.error(`riskgate jobs: invalid configuration: ${(err as Error).message}`);
    return 2;
  }
  const history = values.history === undefined ? 1 : Number(values.history);
  if (!Number.isInteger(history) || history < 1) {
    console.error(`riskgate jobs: --history "${values.history}" is not an integer ≥ 1`);
    return 2;
  }
  if (positionals.length && positionals[0] !== 'run') {
    console.error(`riskgate jobs: unknown subcommand "${positionals[0]}" (use "run")`);
    return 2;
  }
  const dbPath = values.db ?? defaultPaths().db;
  const store = openDefaultStore(dbPath);
  try {
    if (positionals[0] === 'run') {
      const name = positionals[1] as (typeof JOB_NAMES)[number];
      if (!JOB_NAMES.includes(name)) {
        console.error(`riskgate jobs run: name a job (${JOB_NAMES.join(', ')})`);
        return 2;
      }
      const s = createScheduler({
        store,
        dbPath,
        modelsDir: values['models-dir'] ?? defaultPaths().modelsDir,
        config,
        log: {
          info: (_o, m) => m && console.error(m),
          warn: (o, m) => console.error(m, o),
          error: (o, m) => console.error(m, o),
        },
      });
      const e = await s.runJob(name);
      if (values.json) console.log(JSON.stringify(e, null, 2));
      else console.log(`${name}: ${e.status} in ${(e.duration_ms / 1000).toFixed(1)} s — ${summarize(name, e)}`);
      return e.status === 'error' ? 1 : 0;
    }
    const jobs = describeJobs(store, config.cron);
    if (values.json) {
      console.log(
        JSON.stringify({ jobs: jobs.map((j) => ({ ...j, history: jobHistory(store, j.name, history) })) }, null, 2),
      );
      return 0;
    }
    const rows = [['job', 'schedule', 'last run', 'duration', 'result']];
    for (const j of jobs) {
      const runs = jobHistory(store, j.name, history);
      if (runs.length === 0) rows.push([j.name, j.cron, 'never', '-', '-']);
      runs.forEach((e, i) =>
        rows.push([
          i === 0 ? j.name : '',
          i === 0 ? j.cron : '',
          e.started_at.replace('T', ' ').slice(0, 19),
          `${(e.duration_ms / 1000).toFixed(1)} s`,
          summarize(j.name, e),
        ]),
      );
    }
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  '));
    return 0;
  } finally {
    store.close();
  }
}
