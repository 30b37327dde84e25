import { z } from 'zod';

/**
 * Conclusions a run record may carry: GitHub's documented ones plus `startup_failure` (missing from its
 * published enum). Anything else (`"exploded"`) is a bad record; ingest maps a conclusion GitHub may add
 * later to null (not learnable) instead of losing the run.
 */
export const KNOWN_CONCLUSIONS = [
  'success',
  'failure',
  'cancelled',
  'timed_out',
  'startup_failure',
  'action_required',
  'neutral',
  'skipped',
  'stale',
] as const;

/** How far in the future a timestamp may be before it is treated as bad input (clock skew allowance). */
export const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;

/** "is required" for a missing field instead of zod's "expected string, received undefined". */
const required = (what: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : `must be ${what}`),
});

const isoTimestamp = z
  .string(required('an ISO 8601 timestamp string'))
  .refine(
    (s) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
    {
      message: 'must be an ISO 8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z',
      // "yesterday" is not a time, so it is not "in the future" either.
      abort: true,
    },
  )
  .refine((s) => Date.parse(s) <= Date.now() + FUTURE_TOLERANCE_MS, { message: 'is in the future' })
  .transform((s) => new Date(Date.parse(s)).toISOString());

const count = z.number().int().nonnegative().finite();

/** GitHub's file statuses on a commit; any other string is kept (GitHub may add some), the features ignore it. */
export const FILE_STATUSES = ['added', 'removed', 'modified', 'renamed', 'copied', 'changed', 'unchanged'] as const;
/** GitHub lists at most 3,000 files of a commit; a longer list is not something it sent. */
export const MAX_FILE_CHANGES = 3000;

/**
 * One file of the run's commit as GitHub's commit API lists it (`files[]`), minus the patch and URLs (zod
 * drops unknown keys, so a payload pasted whole does not store its diffs).
 */
export const FileChangeSchema = z.object({
  filename: z.string().min(1).max(4096),
  status: z.string().min(1).max(32),
  additions: count.nullish().transform((v) => v ?? null),
  deletions: count.nullish().transform((v) => v ?? null),
  previous_filename: z
    .string()
    .max(4096)
    .nullish()
    .transform((v) => v ?? null),
});
export type FileChange = z.output<typeof FileChangeSchema>;

/** The canonical run record: one GitHub workflow run attempt, named after GitHub's own fields. */
export const RunRecordSchema = z.object({
  repo: z.string(required('a string "owner/name"')).regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"'),
  run_id: z
    .union([z.string().min(1).max(128), z.number().int().nonnegative()], required('a string or a non-negative integer'))
    .transform(String),
  created_at: isoTimestamp,
  workflow: z
    .string()
    .min(1)
    .max(256)
    .nullish()
    .transform((v) => v ?? 'default'),
  run_attempt: z
    .number()
    .int()
    .min(1)
    .nullish()
    .transform((v) => v ?? 1),
  head_sha: z
    .string()
    .max(64)
    .nullish()
    .transform((v) => v ?? null),
  head_branch: z
    .string()
    .max(256)
    .nullish()
    .transform((v) => v ?? null),
  event: z
    .string()
    .max(64)
    .nullish()
    .transform((v) => v ?? null),
  actor: z
    .string()
    .max(256)
    .nullish()
    .transform((v) => v ?? null),
  run_started_at: isoTimestamp.nullish().transform((v) => v ?? null),
  completed_at: isoTimestamp.nullish().transform((v) => v ?? null),
  conclusion: z
    .string()
    .refine((v) => (KNOWN_CONCLUSIONS as readonly string[]).includes(v), {
      message: `must be one of ${KNOWN_CONCLUSIONS.join(', ')} (or null while running)`,
    })
    .nullish()
    .transform((v) => v ?? null),
  files_changed: count.nullish().transform((v) => v ?? null),
  additions: count.nullish().transform((v) => v ?? null),
  deletions: count.nullish().transform((v) => v ?? null),
  files: z
    .array(z.string().max(4096))
    .max(10_000)
    .nullish()
    .transform((v) => v ?? null),
  /**
   * The commit's files with status and per-file line counts, when the source has them (GitHub does). Optional
   * in the output type too (absent = unknown, like null) so records built in code need not name it.
   */
  file_changes: z.array(FileChangeSchema).max(MAX_FILE_CHANGES).nullish(),
});

export type RunRecordInput = z.input<typeof RunRecordSchema>;
export type RunRecord = z.output<typeof RunRecordSchema>;

/** The outcome a model learns: 1 = failed, 0 = succeeded, null = not a learnable outcome (cancelled, running, skipped…). */
export function failureLabel(conclusion: string | null): 0 | 1 | null {
  if (conclusion === 'success') return 0;
  if (conclusion === 'failure' || conclusion === 'timed_out' || conclusion === 'startup_failure') return 1;
  return null;
}

export function runKey(r: Pick<RunRecord, 'repo' | 'workflow' | 'run_id' | 'run_attempt'>): string {
  return `${r.repo}\u0000${r.workflow}\u0000${r.run_id}\u0000${r.run_attempt}`;
}

/** Formats a zod error as "field: reason; field: reason" for CLI and HTTP answers. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
