import type { RiskRequestInput } from '../serving/schemas.ts';
import type { RunRecordInput } from '../records/schema.ts';
import { postJson, redactUrl, RiskClientError, type ClientOptions } from './client.ts';

/**
 * `riskgate check --report-outcome STATUS`: the CI step that closes the loop. It posts the finished run attempt
 * to /v1/outcomes (scope `report`) as a canonical run record, so history features and training data update
 * without anyone holding a GitHub token. The record has the keys ingest would give the same attempt
 * (repo, workflow = GITHUB_WORKFLOW = run.name, run_id, run_attempt; src/github/map.ts) and the same head sha
 * and actor the check sent, so a later ingest of the run updates this row instead of adding one, and
 * reporting the same attempt again replaces it (the store upserts on that key).
 */

/**
 * `${{ job.status }}` is success, failure or cancelled; GitLab's CI_JOB_STATUS (after_script) is success,
 * failed or canceled. GitHub's run conclusions pass through unchanged.
 */
const JOB_STATUS: Record<string, string> = {
  success: 'success',
  failure: 'failure',
  cancelled: 'cancelled',
  failed: 'failure',
  canceled: 'cancelled',
};
export const REPORTABLE = [
  'success',
  'failure',
  'cancelled',
  'timed_out',
  'skipped',
  'neutral',
  'action_required',
  'startup_failure',
];

export function conclusionOf(status: string): string | undefined {
  const s = status.trim().toLowerCase();
  return JOB_STATUS[s] ?? (REPORTABLE.includes(s) ? s : undefined);
}

export interface OutcomeInputs {
  request: RiskRequestInput;
  conclusion: string;
  runId: string;
  /** When the check step ran (RISKGATE_STARTED_AT, which the check exports to $GITHUB_ENV); null if unknown. */
  startedAt: string | null;
  now: Date;
}

export function outcomeRecord(o: OutcomeInputs): RunRecordInput {
  const r = o.request;
  const completed = o.now.toISOString();
  return {
    repo: r.repo,
    run_id: o.runId,
    // GitHub's run creation time is not in the runner's environment; the check step's start is the closest
    // the job knows. A later ingest of the run replaces both with GitHub's own figures.
    created_at: o.startedAt ?? completed,
    run_started_at: o.startedAt,
    completed_at: completed,
    workflow: r.workflow ?? null,
    run_attempt: r.run_attempt ?? 1,
    head_sha: r.head_sha ?? null,
    head_branch: r.head_branch ?? null,
    event: r.event ?? null,
    actor: r.actor ?? null,
    conclusion: o.conclusion,
    files_changed: r.files_changed ?? null,
    additions: r.additions ?? null,
    deletions: r.deletions ?? null,
    files: r.files ?? null,
  };
}

export interface UpsertAnswer {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * Posts the record, retrying the same body on a connection failure, a 429 or a 5xx while the deadline allows
 * (the write is idempotent). A 4xx other than 429 is final: the key lacks the `report` scope, or a field is bad.
 */
export async function reportOutcome(
  baseUrl: string,
  record: RunRecordInput,
  opts: ClientOptions,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<UpsertAnswer> {
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - Date.now();
    try {
      const json = (await postJson(baseUrl, '/v1/outcomes', record, {
        ...opts,
        timeoutMs: Math.max(1, left),
      })) as Partial<UpsertAnswer>;
      if (
        typeof json?.inserted !== 'number' ||
        typeof json.updated !== 'number' ||
        typeof json.unchanged !== 'number'
      ) {
        throw new RiskClientError(
          'invalid_response',
          `unexpected answer from ${redactUrl(baseUrl)} /v1/outcomes: ${JSON.stringify(json).slice(0, 200)}`,
        );
      }
      return json as UpsertAnswer;
    } catch (err) {
      const e = err as RiskClientError;
      const retryable = e.kind === 'unreachable' || (e.kind === 'http' && (e.status === 429 || (e.status ?? 0) >= 500));
      const pause = 250 * 2 ** (attempt - 1);
      if (!retryable || attempt >= 4 || Date.now() + pause >= deadline) throw err;
      await sleep(pause);
    }
  }
}
