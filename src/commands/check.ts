import { appendFileSync } from 'node:fs';
import { requestRisk } from '../ci/client.ts';
import { collectContext, type ContextFlags, type GitRunner } from '../ci/context.ts';
import { dotenvOf, formatDotenv, formatFileCommand, writeGithubFiles, type CheckResult } from '../ci/outputs.ts';
import { conclusionOf, outcomeRecord, reportOutcome, REPORTABLE } from '../ci/report.ts';
import { workflowCommand } from '../ci/workflow-commands.ts';
import { standardPolicy } from '../policy/index.ts';
import { parseCommandArgs, UsageError, usageText } from './args.ts';

export const summary = 'Pre-build risk check for a CI step (writes GitHub outputs, env and summary)';
export const help = `Usage: riskgate check [--url URL] [options]
       riskgate check --report-outcome STATUS [--url URL] [options]

Collects the commit context (flags, GITHUB_* variables, git diff --numstat of the checkout), asks the
risk service and writes risk_level, probability, max_attempts, strategy and mitigations to $GITHUB_OUTPUT,
the strategy's variables (EXTRA_RETRIES, PARALLEL_BUILDS, … and RISKGATE_*) to $GITHUB_ENV and a summary
to $GITHUB_STEP_SUMMARY. Without those files it prints the outputs; --dotenv FILE writes them as
NAME=value lines for other CI systems (GitLab's dotenv report, a shell).

If the service cannot answer within --timeout it warns and applies the standard policy (fail-open);
with --fail-closed it exits 1 instead.

With --report-outcome STATUS (the job's \${{ job.status }}: success, failure or cancelled) it reports the
finished run attempt instead — run id, attempt, head sha, branch, actor, duration since the check and the
change — to /v1/outcomes, so history features and training data update without a GitHub token. The key
needs the report scope. Reporting the same attempt again replaces its record. A report that cannot be
delivered warns and exits 0 (exit 1 with --fail-closed).

Options:
  --url URL               risk service base URL (default $RISKGATE_URL)
  --api-key KEY           bearer key with the score scope (report scope for --report-outcome)
                          (default $RISKGATE_API_KEY)
  --timeout SECONDS       give up after this long (default 5)
  --fail-closed           exit 1 when the service gives no answer
  --local                 score with the local registry and store, no server
                          ($RISKGATE_DATA_DIR, $RISKGATE_MODELS_DIR, $RISKGATE_TIMEZONE)
  --repo OWNER/NAME       default $GITHUB_REPOSITORY
  --sha SHA               default: pull_request.head.sha on pull requests, else $GITHUB_SHA
  --branch NAME           default $GITHUB_HEAD_REF or $GITHUB_REF_NAME
  --event NAME            default $GITHUB_EVENT_NAME
  --actor LOGIN           default $GITHUB_ACTOR (the run's actor, as ingest stores it)
  --workflow NAME         default $GITHUB_WORKFLOW
  --base REF              diff base (default: the PR base, the push's before commit, else HEAD~1)
  --no-diff               do not run git diff
  --files-changed N, --additions N, --deletions N   override the diff numbers
  --service-health NAME=H dependency health 0..1 (repeatable), e.g. --service-health npm=0.7
  --cwd DIR               checkout to diff (default $GITHUB_WORKSPACE or the current folder)
  --dotenv FILE           also append the outputs as RISKGATE_* NAME=value lines (and the strategy's variables)
  --json                  print the full answer as JSON on stdout
  --report-outcome STATUS report the finished run: success, failure, cancelled (or a GitHub conclusion)
  --run-id ID             with --report-outcome (default $GITHUB_RUN_ID)
  --started-at ISO        with --report-outcome: when the run started (default $RISKGATE_STARTED_AT,
                          which the check exports)

On a pull request the diff is the PR's: base...head with actions/checkout fetch-depth: 0, or the test
merge commit against its first parent with fetch-depth: 2 (the default checkout of a pull_request).

Exit codes: 0 answered or fail-open, 1 no answer with --fail-closed, 2 bad usage.

Examples:
  riskgate check --url https://riskgate.internal --timeout 3
  riskgate check --local --repo acme/web --files-changed 40 --additions 900 --deletions 12
  RISKGATE_URL=http://127.0.0.1:8080 riskgate check --service-health gha-cache=0.4 --json
  riskgate check --report-outcome failure --url https://riskgate.internal`;

export interface CheckIO {
  out(line: string): void;
  err(line: string): void;
  git?: GitRunner;
}

const defaultIO: CheckIO = { out: (l) => console.log(l), err: (l) => console.error(l) };

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

function health(list: string[] | undefined): Record<string, number> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([^=]{1,64})=([0-9.]+)$/.exec(item);
    const h = m ? Number(m[2]) : NaN;
    if (!m || !(h >= 0 && h <= 1))
      throw new UsageError(`--service-health expects NAME=H with H in 0..1, got "${item}"`);
    out[m[1]] = h;
  }
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export async function runCheck(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: CheckIO = defaultIO,
  now: () => Date = () => new Date(),
): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandArgs(argv, {
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        timeout: { type: 'string' },
        'fail-closed': { type: 'boolean' },
        local: { type: 'boolean' },
        repo: { type: 'string' },
        sha: { type: 'string' },
        branch: { type: 'string' },
        event: { type: 'string' },
        actor: { type: 'string' },
        workflow: { type: 'string' },
        base: { type: 'string' },
        'no-diff': { type: 'boolean' },
        'files-changed': { type: 'string' },
        additions: { type: 'string' },
        deletions: { type: 'string' },
        'service-health': { type: 'string', multiple: true },
        cwd: { type: 'string' },
        dotenv: { type: 'string' },
        json: { type: 'boolean' },
        'report-outcome': { type: 'string' },
        'run-id': { type: 'string' },
        'started-at': { type: 'string' },
      },
    }));
  } catch (err) {
    // Printed here, not by the CLI: the action (ci/action-main.ts) calls runCheck directly.
    if (!(err instanceof UsageError)) throw err;
    io.err(usageText('check', err.message));
    return 2;
  }

  let flags: ContextFlags;
  let timeoutMs: number;
  let conclusion: string | undefined;
  try {
    const t = Number(values.timeout ?? '5');
    if (!(t > 0 && t <= 600)) throw new UsageError(`--timeout must be seconds in (0, 600], got "${values.timeout}"`);
    timeoutMs = Math.round(t * 1000);
    if (values['report-outcome'] !== undefined) {
      conclusion = conclusionOf(values['report-outcome']);
      if (!conclusion)
        throw new UsageError(
          `--report-outcome expects the job status (${REPORTABLE.join(', ')}), got "${values['report-outcome']}"`,
        );
      if (values.local)
        throw new UsageError('--report-outcome reports to a server; it cannot be combined with --local');
    }
    flags = {
      repo: values.repo,
      sha: values.sha,
      branch: values.branch,
      event: values.event,
      actor: values.actor,
      workflow: values.workflow,
      base: values.base,
      diff: !values['no-diff'],
      cwd: values.cwd,
      filesChanged: count('files-changed', values['files-changed']),
      additions: count('additions', values.additions),
      deletions: count('deletions', values.deletions),
      serviceHealth: health(values['service-health']),
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(usageText('check', err.message));
    return 2;
  }

  const { request, warnings } = collectContext(flags, env, io.git);
  for (const w of warnings) io.err(workflowCommand('notice', `riskgate: ${w}`));
  if (!request.repo) {
    io.err('riskgate check: no repository (pass --repo OWNER/NAME or run inside GitHub Actions)');
    return 2;
  }
  const url = values.url ?? env.RISKGATE_URL;
  if (!values.local && !url) {
    io.err('riskgate check: no service URL (pass --url or set RISKGATE_URL; or use --local)');
    return 2;
  }
  const apiKey = values['api-key'] ?? env.RISKGATE_API_KEY;

  if (conclusion !== undefined) {
    const runId = values['run-id'] ?? env.GITHUB_RUN_ID;
    const startedAt = values['started-at'] ?? env.RISKGATE_STARTED_AT ?? null;
    if (!runId || !/^[A-Za-z0-9_.:-]{1,128}$/.test(runId)) {
      io.err(
        `riskgate check: --report-outcome needs the run id (--run-id or $GITHUB_RUN_ID)${runId ? `, got "${runId}"` : ''}`,
      );
      return 2;
    }
    if (startedAt !== null && !(ISO.test(startedAt) && Date.parse(startedAt) <= now().getTime())) {
      io.err(`riskgate check: --started-at must be a past ISO 8601 time with a zone, got "${startedAt}"`);
      return 2;
    }
    const record = outcomeRecord({
      request,
      conclusion,
      runId,
      startedAt: startedAt && new Date(Date.parse(startedAt)).toISOString(),
      now: now(),
    });
    try {
      const r = await reportOutcome(url!, record, { apiKey, timeoutMs });
      const what = r.inserted ? 'recorded' : r.updated ? 'updated' : 'already recorded';
      io.out(`riskgate: ${conclusion} of ${record.repo} run ${record.run_id} attempt ${record.run_attempt} ${what}`);
      return 0;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (values['fail-closed']) {
        io.err(
          workflowCommand('error', `riskgate: outcome not reported (${reason}); failing because of --fail-closed`),
        );
        return 1;
      }
      io.err(workflowCommand('warning', `riskgate: outcome not reported (${reason})`));
      return 0;
    }
  }

  let result: CheckResult;
  try {
    const response = values.local
      ? await (await import('./check-local.ts')).scoreLocally(request, env)
      : await requestRisk(url!, request, { apiKey, timeoutMs });
    result = { response, policy: response.policy };
  } catch (err) {
    if (err instanceof Error && err.name === 'LocalUsageError') {
      io.err(`riskgate check: ${err.message}`);
      return 2;
    }
    const reason = err instanceof Error ? err.message : String(err);
    if (values['fail-closed']) {
      io.err(workflowCommand('error', `riskgate: no risk answer (${reason}); failing because of --fail-closed`));
      return 1;
    }
    const warning = `risk service gave no answer (${reason}); applying the standard policy (fail-open)`;
    io.err(workflowCommand('warning', `riskgate: ${warning}`));
    result = { response: null, policy: standardPolicy(), warning };
  }

  const written = writeGithubFiles(result, env);
  // For a later `--report-outcome` step of the same job: the run's duration is measured from here.
  if (env.GITHUB_ENV) appendFileSync(env.GITHUB_ENV, formatFileCommand({ RISKGATE_STARTED_AT: now().toISOString() }));
  if (values.dotenv) appendFileSync(values.dotenv, formatDotenv(dotenvOf(result)));
  const r = result.response;
  const p = result.policy;
  if (values.json) io.out(JSON.stringify(r ?? { fail_open: true, policy: p }, null, 2));
  else {
    io.out(
      `risk ${r ? `${r.risk_level} (p=${r.probability.toFixed(3)}${r.degraded ? ', degraded' : ''})` : 'unknown (fail-open)'} · ` +
        `strategy ${p.strategy.name} · up to ${p.retry.max_attempts} attempts` +
        (p.mitigations.length ? ` · mitigations: ${p.mitigations.map((m) => m.action).join(', ')}` : ''),
    );
    if (!written.length && !values.dotenv)
      io.out('(no $GITHUB_OUTPUT/$GITHUB_ENV/$GITHUB_STEP_SUMMARY set; nothing written)');
  }
  return 0;
}

export function run(argv: string[]): Promise<number> {
  return runCheck(argv, process.env);
}
