import { RunRecordSchema, type RunRecord } from '../records/schema.ts';
import { isValidatedRiskRequest } from './schemas.ts';
import type { ScoreRequest } from './types.ts';

/**
 * The run a risk request describes, as the feature module sees it: not started, no outcome yet. Fields are
 * passed as given (`files_changed` stays null when only `files` came), exactly as an imported record with
 * the same fields is stored, so serving computes the features training computed.
 */
export function pendingRun(req: ScoreRequest, now = new Date()): RunRecord {
  const run = {
    repo: req.repo,
    run_id: 'pending',
    created_at: req.created_at ?? now.toISOString(),
    workflow: req.workflow,
    run_attempt: req.run_attempt,
    head_sha: req.head_sha,
    head_branch: req.head_branch,
    event: req.event,
    actor: req.actor,
    run_started_at: null,
    completed_at: null,
    conclusion: null,
    files_changed: req.files_changed,
    additions: req.additions,
    deletions: req.deletions,
    files: req.files,
  };
  // A request the risk schema produced is already what a run record accepts, field by field (the property
  // test in test/serving/schemas.test.ts proves it), so the hot path validates once; anything else (tests,
  // the backtest, `check --local` callers of a scorer) is validated like any record.
  return isValidatedRiskRequest(req) ? (run as RunRecord) : RunRecordSchema.parse(run);
}
