import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { report } from '../../src/commands/report.ts';
import { computeDora } from '../../src/report/dora.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { month } from './fixtures.ts';

let dir: string;
let db: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'riskgate-report-'));
  db = join(dir, 'riskgate.db');
  const store = openStore(db);
  store.upsertRuns(month());
  store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await report(argv, { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
  return { code, out, err };
}

test('--json prints { repo, dora, flaky } with the computed figures', async () => {
  const r = await cli('--repo', 'acme/app', '--db', db, '--json');
  assert.equal(r.code, 0, r.err);
  const body = JSON.parse(r.out);
  assert.deepEqual(Object.keys(body), ['repo', 'dora', 'flaky']);
  assert.deepEqual(body.dora, JSON.parse(JSON.stringify(computeDora(month(), { weeks: 12 }))));
  assert.equal(body.dora.totals.deployments, 4);
  assert.equal(body.flaky.flaky.length, 1);
});

test('the terminal table is aligned and has a totals row', async () => {
  const r = await cli('--repo', 'acme/app', '--db', db, '--weeks', '4');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  const header = lines.findIndex((l) => l.startsWith('week '));
  assert.ok(header >= 0, r.out);
  const rule = lines[header + 1];
  assert.match(rule, /^-+( +-+)+$/);
  const rows = lines.slice(header + 2, header + 7);
  assert.deepEqual(
    rows.map((l) => l.split(/\s{2,}/)[0]),
    ['2024-05-06', '2024-05-13', '2024-05-20', '2024-05-27', 'total'],
  );
  // Right-aligned numeric columns end at the same place as the rule's columns.
  for (const row of rows) assert.equal(row.length, rule.length, row);
  assert.match(rows[0], /25\.0% \(1\/4\)/);
  assert.match(rows[4], /50\.0% \(4\/8\)/);
  assert.match(r.out, /ci on main has been failing since 2024-05-27T09:15/);
  assert.match(r.out, /Flaky runs/);
});

test('bad arguments and unknown repos exit 2 with a message', async () => {
  const cases: [string[], RegExp][] = [
    [['--db', db], /--repo is required/],
    [['--repo', 'acme/app', '--db', db, '--weeks', '0'], /--weeks/],
    [['--repo', 'acme/app', '--db', db, '--weeks', 'many'], /--weeks/],
    [['--repo', 'acme/app', '--db', db, '--timezone', 'Moon/Base'], /--timezone/],
    [['--repo', 'acme/app', '--db', db, '--deploy-workflows', '('], /--deploy-workflows/],
    [['--repo', 'acme/app', '--db', db, '--bogus'], /Unknown option/],
    [['--repo', 'acme/nope', '--db', db], /unknown repo "acme\/nope"; the store has acme\/app/],
    [['--repo', 'acme/app', '--db', join(dir, 'missing.db')], /no store at/],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, msg);
    assert.equal(r.out, '');
  }
});
