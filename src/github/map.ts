import {
  KNOWN_CONCLUSIONS,
  RunRecordSchema,
  describeZodError,
  type FileChange,
  type RunRecord,
  type RunRecordInput,
} from '../records/schema.ts';

/** The subset of a GitHub workflow-run payload we read. Every field may be missing on old payloads. */
export interface GhRun {
  id: number;
  name?: string | null;
  path?: string | null;
  head_sha?: string | null;
  head_branch?: string | null;
  event?: string | null;
  status?: string | null;
  conclusion?: string | null;
  created_at: string;
  updated_at?: string | null;
  run_started_at?: string | null;
  run_attempt?: number | null;
  previous_attempt_url?: string | null;
  actor?: { login?: string } | null;
  triggering_actor?: { login?: string } | null;
}

export interface GhCommitPage {
  sha: string;
  stats?: { additions?: number; deletions?: number; total?: number };
  files?: GhCommitFile[];
}

/** A file of GitHub's commit payload (`files[]`); we leave out its patch and URLs. */
export interface GhCommitFile {
  filename: string;
  status?: string | null;
  additions?: number | null;
  deletions?: number | null;
  previous_filename?: string | null;
}

export interface CommitDetails {
  sha: string;
  additions: number | null;
  deletions: number | null;
  files: string[];
  /**
   * The same files with status and line counts, when GitHub sent statuses (it always does today). Absent on
   * commit details cached before this field existed: those records then carry paths only.
   */
  changes?: FileChange[];
}

export interface GhJob {
  name: string;
  status?: string | null;
  conclusion?: string | null;
  run_attempt?: number | null;
}

/** GitHub returns at most 3,000 files for a commit (10 pages of 300). */
export const MAX_COMMIT_FILES = 3000;

/** Merges the pages of one commit; stats are whole-commit figures and repeat on every page. */
export function mergeCommitPages(pages: GhCommitPage[]): CommitDetails {
  if (pages.length === 0) throw new Error('mergeCommitPages: no pages');
  const seen = new Set<string>();
  const files: string[] = [];
  const changes: FileChange[] = [];
  let statuses = false;
  for (const p of pages) {
    for (const f of p.files ?? []) {
      if (!seen.has(f.filename) && files.length < MAX_COMMIT_FILES) {
        seen.add(f.filename);
        files.push(f.filename);
        if (f.status) statuses = true;
        // Only what the record keeps: a file's patch can be megabytes, and the URLs say nothing new.
        changes.push({
          filename: f.filename,
          status: f.status ?? 'changed',
          additions: f.additions ?? null,
          deletions: f.deletions ?? null,
          previous_filename: f.previous_filename ?? null,
        });
      }
    }
  }
  const stats = pages[0].stats;
  return {
    sha: pages[0].sha,
    additions: stats?.additions ?? null,
    deletions: stats?.deletions ?? null,
    files,
    ...(statuses ? { changes } : {}),
  };
}

export function isCompleted(run: Pick<GhRun, 'status'>): boolean {
  return run.status === 'completed';
}

/** Maps a run attempt (and the commit behind it) to the canonical record's input shape. */
export function runToRecordInput(repo: string, run: GhRun, commit: CommitDetails | null): RunRecordInput {
  const completed = isCompleted(run);
  return {
    repo,
    run_id: run.id,
    created_at: run.created_at,
    workflow: run.name || run.path || null,
    // Payloads from before re-runs existed have no run_attempt: they were the first and only attempt.
    run_attempt: run.run_attempt ?? 1,
    head_sha: run.head_sha ?? null,
    head_branch: run.head_branch ?? null,
    event: run.event ?? null,
    actor: run.actor?.login ?? run.triggering_actor?.login ?? null,
    run_started_at: run.run_started_at ?? null,
    // Runs carry no completed_at; for a finished run its last update is when it finished.
    completed_at: completed ? (run.updated_at ?? null) : null,
    // startup_failure is missing from the published enum but known; a conclusion GitHub adds later is not
    // learnable yet (null) rather than a reason to drop the run.
    conclusion:
      completed && (KNOWN_CONCLUSIONS as readonly string[]).includes(run.conclusion ?? '') ? run.conclusion! : null,
    files_changed: commit ? commit.files.length : null,
    additions: commit?.additions ?? null,
    deletions: commit?.deletions ?? null,
    files: commit ? commit.files : null,
    // Only when known, so records of commits cached before file statuses were kept look as they did.
    ...(commit?.changes ? { file_changes: commit.changes } : {}),
  };
}

export type MapResult = { ok: true; record: RunRecord } | { ok: false; error: string };

export function mapRun(repo: string, run: GhRun, commit: CommitDetails | null): MapResult {
  const parsed = RunRecordSchema.safeParse(runToRecordInput(repo, run, commit));
  return parsed.success ? { ok: true, record: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
}

/** Names of the jobs that failed, per run attempt. Jobs on old payloads carry no attempt: attempt 1. */
export function failedJobsByAttempt(jobs: GhJob[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const j of jobs) {
    if (j.conclusion !== 'failure' && j.conclusion !== 'timed_out' && j.conclusion !== 'startup_failure') continue;
    const a = j.run_attempt ?? 1;
    out.set(a, [...(out.get(a) ?? []), j.name]);
  }
  return out;
}
