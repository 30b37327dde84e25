import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatFileCommand, parseFileCommand } from '../../src/ci/outputs.ts';
import { diffRanges, parseNumstat } from '../../src/ci/context.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('file commands: single-line values as name=value, multi-line as heredoc; round-trips', () => {
  const text = formatFileCommand({ a: '1', b: 'x=y', c: 'line1\nline2' });
  assert.match(text, /^a=1\nb=x=y\nc<<ghadelimiter_[0-9a-f-]+\nline1\nline2\nghadelimiter_[0-9a-f-]+\n$/);
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/),
        fc.string({ unit: fc.constantFrom('a', ' ', '\n', '=', '<', 'é') }),
      ),
      (entries) => {
        assert.deepEqual(parseFileCommand(formatFileCommand(entries)), Object.fromEntries(Object.entries(entries)));
      },
    ),
  );
  assert.throws(() => formatFileCommand({ 'bad\nname': 'x' }), /invalid output name/);
  assert.throws(() => formatFileCommand({ 'a=b': 'x' }), /invalid output name/);
});

test('numstat -z: tabs and newlines in paths, binary files', () => {
  const out = '3\t1\tsrc/a.ts\0-\t-\tlogo.png\0' + '10\t0\tdir/with\ttab and\nnewline.md\0';
  assert.deepEqual(parseNumstat(out), {
    files: ['src/a.ts', 'logo.png', 'dir/with\ttab and\nnewline.md'],
    additions: 13,
    deletions: 1,
  });
  assert.deepEqual(parseNumstat(''), { files: [], additions: 0, deletions: 0 });
});

test('diff ranges: explicit base, then the PR base, then the push "before" commit, then the parent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-ev-'));
  try {
    const ev = join(dir, 'event.json');
    writeFileSync(ev, JSON.stringify({ before: 'b'.repeat(40) }));
    assert.deepEqual(diffRanges({ base: 'v1.2' }, { GITHUB_BASE_REF: 'main', GITHUB_EVENT_PATH: ev }), [
      'v1.2...HEAD',
      'origin/main...HEAD',
      `${'b'.repeat(40)}..HEAD`,
      'HEAD~1..HEAD',
    ]);
    writeFileSync(ev, JSON.stringify({ before: '0'.repeat(40) }));
    assert.deepEqual(diffRanges({}, { GITHUB_EVENT_PATH: ev }), ['HEAD~1..HEAD'], 'a new branch has no "before"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
