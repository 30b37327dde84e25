import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { importFiles } from '../../src/records/import.ts';
import { openStore } from '../../src/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'rg-import-'));
const good = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    repo: 'acme/web',
    run_id: i,
    created_at: `2024-01-0${1 + (i % 9)}T10:00:00Z`,
    conclusion: i % 3 ? 'success' : 'failure',
    ...extra,
  });

function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => good(i + 1));
}

test('bad lines are reported with file, line and reason; the good ones are imported', async () => {
  const file = join(dir, 'mixed.jsonl');
  const future = new Date(Date.now() + 7 * 86400_000).toISOString();
  writeFileSync(
    file,
    [
      good(1),
      'this is { not json',
      good(3, { run_attempt: 'two' }),
      good(4, { created_at: future }),
      '["an", "array"]',
      good(6, { repo: 'no-slash' }),
      '',
      good(8),
    ].join('\n'),
  );
  const store = openStore(':memory:');
  const sum = await importFiles(store, [file]);
  assert.equal(sum.inserted, 2);
  assert.deepEqual(
    sum.bad.map((b) => b.line),
    [2, 3, 4, 5, 6],
  );
  assert.match(sum.bad[0].reason, /not valid JSON/);
  assert.match(sum.bad[1].reason, /run_attempt/);
  assert.match(sum.bad[2].reason, /created_at: is in the future/);
  assert.match(sum.bad[3].reason, /not a JSON object/);
  assert.match(sum.bad[4].reason, /repo: must be "owner\/name"/);
  assert.ok(sum.bad.every((b) => b.file === file));
  assert.equal(store.countRuns(), 2);
});

test('a truncated gzip is reported and every complete line before the damage is kept', async () => {
  const full = gzipSync(Buffer.from(lines(2000).join('\n') + '\n'));
  const file = join(dir, 'cut.jsonl.gz');
  writeFileSync(file, full.subarray(0, Math.floor(full.length * 0.6)));
  const store = openStore(':memory:');
  const sum = await importFiles(store, [file]);
  assert.equal(sum.bad.length, 1);
  assert.match(sum.bad[0].reason, /truncated or damaged gzip/);
  assert.ok(sum.inserted > 500 && sum.inserted < 2000, `kept ${sum.inserted}`);
  assert.equal(store.countRuns(), sum.inserted);
});

test('re-importing the same file changes nothing; a newer record for a key updates it', async () => {
  const file = join(dir, 'same.jsonl');
  writeFileSync(file, lines(50).join('\n'));
  const store = openStore(':memory:');
  const first = await importFiles(store, [file]);
  const second = await importFiles(store, [file]);
  assert.equal(first.inserted, 50);
  assert.deepEqual([second.inserted, second.updated, second.unchanged], [0, 0, 50]);
  const changed = join(dir, 'changed.jsonl');
  writeFileSync(changed, good(1, { conclusion: 'failure', completed_at: '2024-01-02T11:00:00Z' }));
  const third = await importFiles(store, [changed]);
  assert.equal(third.updated, 1);
  assert.equal(store.getRun('acme/web', 'default', '1', 1)?.conclusion, 'failure');
  // A still-running copy never overwrites a finished record.
  writeFileSync(changed, good(1, { conclusion: null }));
  assert.equal((await importFiles(store, [changed])).unchanged, 1);
  assert.equal(store.getRun('acme/web', 'default', '1', 1)?.conclusion, 'failure');
});

test('riskgate import exits 2 on bad lines, prints FILE:LINE, and keeps the good lines in the database', () => {
  const file = join(dir, 'cli.jsonl');
  writeFileSync(file, [good(1), '{"repo": 5}', good(2)].join('\n'));
  const db = join(dir, 'cli.db');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', file, '--db', db], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:2: .*repo`));
  const store = openStore(db);
  assert.equal(store.countRuns(), 2);
  store.close();
  const missing = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
});
