/**
 * The record carries the commit's files with status and per-file line counts, read from GitHub's real
 * recorded commit payloads in ../shared/fixtures/github (hub4j/github-api's CommitTest recording, PyGithub's
 * ReplayData; see that folder's README for repository and commit). Skips when the folder is absent (fails in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapRun, mergeCommitPages, type GhCommitPage, type GhRun } from '../../src/github/map.ts';
import { MAX_FILE_CHANGES, RunRecordSchema } from '../../src/records/schema.ts';
import { parseRunLine } from '../../src/records/read.ts';

const ROOT = join(import.meta.dirname, '../../../shared/fixtures/github');
const present = existsSync(join(ROOT, 'README.md'));

function need(t: { skip: (m: string) => void }): boolean {
  if (present) return true;
  if (process.env.CI === 'true') assert.fail(`recorded GitHub fixtures missing at ${ROOT}`);
  t.skip(`recorded GitHub fixtures not present at ${ROOT}`);
  return false;
}

const body = (path: string): GhCommitPage => JSON.parse(readFileSync(join(ROOT, path), 'utf8')).response.body;

const run: GhRun = {
  id: 7,
  name: 'CI',
  head_sha: 'b83812aa76bb7c3c43da96fbf8aec1e45db87624',
  head_branch: 'main',
  event: 'push',
  status: 'completed',
  conclusion: 'success',
  created_at: '2024-03-01T10:00:00Z',
  updated_at: '2024-03-01T10:05:00Z',
};

test('a 3-page commit (691 added files) maps to file_changes whose line counts add up to the commit stats', (t) => {
  if (!need(t)) return;
  const pages = ['004-commits.json', '006-commits-page-2.json', '007-commits-page-3.json'].map((f) =>
    body(`commit-files-paginated-hub4j/${f}`),
  );
  const c = mergeCommitPages(pages);
  assert.equal(c.files.length, 691);
  assert.equal(c.changes?.length, 691);
  assert.ok(c.changes!.every((f) => f.status === 'added' && f.deletions === 0 && f.previous_filename === null));
  assert.equal(
    c.changes!.reduce((a, f) => a + (f.additions ?? 0), 0),
    pages[0].stats!.additions,
  );
  const m = mapRun('hub4j-test-org/CommitTest', run, c);
  assert.ok(m.ok);
  assert.deepEqual(
    m.record.file_changes!.map((f) => f.filename),
    m.record.files,
  );
  // Nothing but the kept keys: the payload's patch (and URLs) never reach the record.
  assert.deepEqual(Object.keys(m.record.file_changes![0]).sort(), [
    'additions',
    'deletions',
    'filename',
    'previous_filename',
    'status',
  ]);
  assert.ok(!JSON.stringify(m.record).includes('@@'));
});

test('a modified file keeps its per-file additions and deletions (PyGithub recording)', (t) => {
  if (!need(t)) return;
  const c = mergeCommitPages([body('commit-with-files/003-commits-page-1.json')]);
  assert.deepEqual(c.changes, [
    {
      filename: 'github/GithubObjects/GitAuthor.py',
      status: 'modified',
      additions: 0,
      deletions: 20,
      previous_filename: null,
    },
  ]);
});

test('commit details cached before statuses were kept map to a record without file_changes', () => {
  const m = mapRun('o/r', run, { sha: run.head_sha!, additions: 1, deletions: 0, files: ['a.ts'] });
  assert.ok(m.ok);
  assert.equal('file_changes' in m.record, false);
  assert.deepEqual(m.record.files, ['a.ts']);
});

test('a renamed file keeps where it came from; pasted payload keys are dropped', () => {
  const r = RunRecordSchema.parse({
    repo: 'o/r',
    run_id: 1,
    created_at: '2024-03-01T10:00:00Z',
    file_changes: [
      {
        filename: 'src/new.ts',
        status: 'renamed',
        additions: 2,
        deletions: 1,
        changes: 3,
        previous_filename: 'src/old.ts',
        patch: '@@ -1 +1 @@',
      },
    ],
  });
  assert.deepEqual(r.file_changes, [
    { filename: 'src/new.ts', status: 'renamed', additions: 2, deletions: 1, previous_filename: 'src/old.ts' },
  ]);
});

test('bad file_changes are refused naming the field; too many files are refused, not truncated', () => {
  const line = (fc: unknown) =>
    JSON.stringify({ repo: 'o/r', run_id: 1, created_at: '2024-03-01T10:00:00Z', file_changes: fc });
  const neg = parseRunLine(line([{ filename: 'a', status: 'modified', additions: -1 }]));
  assert.ok('reason' in neg);
  assert.match(neg.reason, /^file_changes\.0\.additions: /);
  const noName = parseRunLine(line([{ status: 'added' }]));
  assert.ok('reason' in noName);
  assert.match(noName.reason, /^file_changes\.0\.filename: /);
  const many = parseRunLine(
    line(Array.from({ length: MAX_FILE_CHANGES + 1 }, (_, i) => ({ filename: `f${i}`, status: 'added' }))),
  );
  assert.ok('reason' in many);
  assert.match(many.reason, /^file_changes: /);
  const ok = parseRunLine(
    line(Array.from({ length: MAX_FILE_CHANGES }, (_, i) => ({ filename: `f${i}`, status: 'added' }))),
  );
  assert.ok('record' in ok);
});
