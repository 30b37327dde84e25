import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RiskRequestInput, RiskResponse } from '../api/schemas.ts';
import { requestRisk } from '../ci/client.ts';
import { collectContext, type ContextFlags, type GitRunner } from '../ci/context.ts';
import { writeGithubFiles, type CheckResult } from '../ci/outputs.ts';
import { standardPolicy } from '../policy/index.ts';

export const summary = 'Pre-build risk check for a CI step (writes GitHub outputs, env and summary)';
export const help = `Usage: riskgate check [--url URL] [options]

Collects the commit context (flags, GITHUB_* variables, git diff --numstat of the checkout), asks the
risk service and writes risk_level, probability, max_attempts, strategy and mitigations to $GITHUB_OUTPUT,
the strategy's variables (EXTRA_RETRIES, PARALLEL_BUILDS, … and RISKGATE_*) to $GITHUB_ENV and a summary
to $GITHUB_STEP_SUMMARY. Without those files it prints the outputs.

If the service cannot answer within --timeout it warns and applies the standard policy (fail-open);
with --fail-closed it exits 1 instead.

Options:
  --url URL               risk service base URL (default $RISKGATE_URL)
  --api-key KEY           bearer key with the score scope (default $RISKGATE_API_KEY)
  --timeout SECONDS       give up after this long (default 5)
  --fail-closed           exit 1 when the service gives no answer
  --local                 score with the local registry and store, no server
                          ($RISKGATE_DATA_DIR, $RISKGATE_MODELS_DIR, $RISKGATE_TIMEZONE)
  --repo OWNER/NAME       default $GITHUB_REPOSITORY
  --sha SHA               default $GITHUB_SHA
  --branch NAME           default $GITHUB_HEAD_REF or $GITHUB_REF_NAME
  --event NAME            default $GITHUB_EVENT_NAME
  --actor LOGIN           default $GITHUB_TRIGGERING_ACTOR or $GITHUB_ACTOR
  --workflow NAME         default $GITHUB_WORKFLOW
  --base REF              diff base (default: the PR base, the push's before commit, else HEAD~1)
  --no-diff               do not run git diff
  --files-changed N, --additions N, --deletions N   override the diff numbers
  --service-health NAME=H dependency health 0..1 (repeatable), e.g. --service-health npm=0.7
  --cwd DIR               checkout to diff (default $GITHUB_WORKSPACE or the current folder)
  --json                  print the full answer as JSON on stdout

Exit codes: 0 answered or fail-open, 1 no answer with --fail-closed, 2 bad usage.

Examples:
  riskgate check --url https://riskgate.internal --timeout 3
  riskgate check --local --repo acme/web --files-changed 40 --additions 900 --deletions 12
  RISKGATE_URL=http://127.0.0.1:8080 riskgate check --service-health gha-cache=0.4 --json`;

export interface CheckIO {
  out(line: string): void;
  err(line: string): void;
  git?: GitRunner;
}

const defaultIO: CheckIO = { out: (l) => console.log(l), err: (l) => console.error(l) };

class UsageError extends Error {}

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
    if (!m || !(h >= 0 && h <= 1)) throw new UsageError(`--service-health expects NAME=H with H in 0..1, got "${item}"`);
    out[m[1]] = h;
  }
  return out;
}

async function scoreLocally(request: RiskRequestInput, env: NodeJS.ProcessEnv): Promise<RiskResponse> {
  const { loadConfig } = await import('../config.ts');
  const { openStore } = await import('../store/sqlite.ts');
  const { RiskRequestSchema } = await import('../api/schemas.ts');
  const { createFallbackScorer } = await import('../policy/fallback.ts');
  const { assessRisk } = await import('../api/assess.ts');
  const { describeZodError } = await import('../records/schema.ts');
  const config = loadConfig(env);
  const parsed = RiskRequestSchema.safeParse(request);
  if (!parsed.success) throw new UsageError(`invalid request: ${describeZodError(parsed.error)}`);
  const store = openStore(join(config.dataDir, 'riskgate.db'));
  const fallback = createFallbackScorer({ store, timezone: config.timezone });
  let scorer: (typeof fallback & { close?(): void }) = fallback;
  try {
    try {
      const mod = await import('../registry/scorer.ts');
      scorer = await mod.createModelScorer({ store, modelsDir: config.modelsDir, timezone: config.timezone, attribution: config.attribution, pollMs: 0, fallback: fallback as never });
    } catch {
      /* no model scorer available: the fallback answers, flagged degraded */
    }
    return await assessRisk(parsed.data, { scorer, fallback, config }, `local-${process.pid}`);
  } finally {
    scorer.close?.();
    store.close();
  }
}

export async function runCheck(argv: string[], env: NodeJS.ProcessEnv, io: CheckIO = defaultIO): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
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
        json: { type: 'boolean' },
      },
    }));
  } catch (err) {
    io.err(`riskgate check: ${(err as Error).message}\n\n${help}`);
    return 2;
  }

  let flags: ContextFlags;
  let timeoutMs: number;
  try {
    const t = Number(values.timeout ?? '5');
    if (!(t > 0 && t <= 600)) throw new UsageError(`--timeout must be seconds in (0, 600], got "${values.timeout}"`);
    timeoutMs = Math.round(t * 1000);
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
    io.err(`riskgate check: ${(err as Error).message}`);
    return 2;
  }

  const { request, warnings } = collectContext(flags, env, io.git);
  for (const w of warnings) io.err(`::notice::riskgate: ${w}`);
  if (!request.repo) {
    io.err('riskgate check: no repository (pass --repo OWNER/NAME or run inside GitHub Actions)');
    return 2;
  }
  const url = values.url ?? env.RISKGATE_URL;
  if (!values.local && !url) {
    io.err('riskgate check: no service URL (pass --url or set RISKGATE_URL; or use --local)');
    return 2;
  }

  let result: CheckResult;
  try {
    const response = values.local
      ? await scoreLocally(request, env)
      : await requestRisk(url!, request, { apiKey: values['api-key'] ?? env.RISKGATE_API_KEY, timeoutMs });
    result = { response, policy: response.policy };
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`riskgate check: ${err.message}`);
      return 2;
    }
    const reason = err instanceof Error ? err.message : String(err);
    if (values['fail-closed']) {
      io.err(`::error::riskgate: no risk answer (${reason}); failing because of --fail-closed`);
      return 1;
    }
    const warning = `risk service gave no answer (${reason}); applying the standard policy (fail-open)`;
    io.err(`::warning::riskgate: ${warning}`);
    result = { response: null, policy: standardPolicy(), warning };
  }

  const written = writeGithubFiles(result, env);
  const r = result.response;
  const p = result.policy;
  if (values.json) io.out(JSON.stringify(r ?? { fail_open: true, policy: p }, null, 2));
  else {
    io.out(
      `risk ${r ? `${r.risk_level} (p=${r.probability.toFixed(3)}${r.degraded ? ', degraded' : ''})` : 'unknown (fail-open)'} · ` +
        `strategy ${p.strategy.name} · up to ${p.retry.max_attempts} attempts` +
        (p.mitigations.length ? ` · mitigations: ${p.mitigations.map((m) => m.action).join(', ')}` : ''),
    );
    if (!written.length) io.out('(no $GITHUB_OUTPUT/$GITHUB_ENV/$GITHUB_STEP_SUMMARY set; nothing written)');
  }
  return 0;
}

export function run(argv: string[]): Promise<number> {
  return runCheck(argv, process.env);
}
