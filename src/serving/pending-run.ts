import { RunRecordSchema, type RunRecord } from '../records/schema.ts';
import { isValidatedRiskRequest } from './schemas.ts';
import type { ScoreRequest } from './types.ts';

/**
 * The run a risk request describes, as the feature module sees it: not started, no outcome yet. Fields are
 * passed as given (`files_changed` stays null when only `files` came), exactly as an imported record with
 * the same fields is stored, so serving computes the features training computed.
 */
export function pendingRun(req: ScoreRequest, now = new Date()): RunRecord {
  // A request the risk schema produced converts directly (its fields already are what a run record accepts:
  // schemas.test.ts proves it), so the hot path validates once; anything else is validated like any record.
  if (!isValidatedRiskRequest(req))
    return RunRecordSchema.parse({
      repo: req.repo,
      run_id: 'pending',
      created_at: req.created_at ?? now.toISOString(),
      workflow: req.workflow,
      run_attempt: req.run_attempt,
      head_sha: req.head_sha,
      head_branch: req.head_branch,
      event: req.event,
      actor: req.actor,
      files: req.files,
      files_changed: req.files_changed,
      additions: req.additions,
      deletions: req.deletions,
    });
  return {
    repo: req.repo,
    run_id: 'pending',
    created_at: req.created_at,
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
}
