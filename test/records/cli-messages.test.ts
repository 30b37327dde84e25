import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { call, serveApp } from '../api/helpers.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function spawnCli(args: string[], cwd = process.cwd()): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../src/cli.ts'), ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test(
  'a missing input file is one clean line and exit 2 (import, backtest), no "Unhandled \'error\' event"',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-missing-'));
    try {
      const missing = join(dir, 'nope.jsonl');
      const imp = await spawnCli(['import', missing, '--db', join(dir, 'r.db')]);
      assert.equal(imp.code, 2, imp.out);
      assert.match(imp.out, new RegExp(`${missing.replace(/[.]/g, '\\.')}:0: cannot read file \\(no such file\\)`));
      assert.doesNotMatch(imp.out, /Unhandled|ENOENT|\n\s+at /);
      assert.match(imp.out, /created a new, empty store at .*r\.db/, 'a store made by accident is named');
      assert.match(imp.out, /; store .*r\.db/);
      const bt = await spawnCli(['backtest', '--data', missing]);
      assert.equal(bt.code, 2, bt.out);
      assert.match(bt.out, /cannot read file \(no such file\)/);
      assert.match(bt.out, /nothing to backtest/);
      assert.doesNotMatch(bt.out, /Unhandled|\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('import names the field and the problem plainly, and the summary names the store it wrote', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-msg-'));
  try {
    const file = join(dir, 'runs.jsonl');
    writeFileSync(
      file,
      [
        { run_id: 1, created_at: '2025-01-01T00:00:00Z', conclusion: 'success' },
        { repo: 'a/b', run_id: 2, created_at: 'yesterday', conclusion: 'success' },
        { repo: 'a/b', run_id: 3, created_at: '2025-01-01T00:00:00Z', conclusion: 'exploded' },
        { repo: 'a/b', run_id: 4, created_at: '2025-01-01T00:00:00Z', conclusion: 'startup_failure' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const db = join(dir, 'store', 'riskgate.db');
    const r = await cli(['import', file, '--db', db]);
    assert.equal(r.code, 2);
    const lines = r.err.split('\n');
    assert.ok(lines.includes(`${file}:1: repo: is required`), r.err);
    assert.ok(
      lines.includes(
        `${file}:2: created_at: must be an ISO 8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z`,
      ),
      r.err,
    );
    assert.match(r.err, new RegExp(`:3: conclusion: must be one of success, failure, .*startup_failure`));
    assert.doesNotMatch(r.err, /in the future|received undefined/);
    assert.match(r.out, /1 new, 0 updated, 0 unchanged, 3 bad line\(s\); store .*\/store\/riskgate\.db$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad record inside an /v1/outcomes batch is reported at its index', async () => {
  const s = await serveApp();
  try {
    const ok = { repo: 'a/b', run_id: 1, created_at: '2025-01-01T00:00:00Z', conclusion: 'success' };
    const r = await call(s.url, 'POST', '/v1/outcomes', {
      runs: [ok, ok, { ...ok, run_id: 3, repo: undefined }, { ...ok, conclusion: 'exploded' }],
    });
    assert.equal(r.status, 400);
    const paths = (r.body as { details: { path: string; message: string }[] }).details;
    assert.deepEqual(
      paths.map((d) => d.path),
      ['runs.2.repo', 'runs.3.conclusion'],
    );
    assert.equal(paths[0].message, 'is required');
    const single = await call(s.url, 'POST', '/v1/outcomes', { ...ok, created_at: 'yesterday' });
    assert.deepEqual(
      (single.body as { details: { path: string }[] }).details.map((d) => d.path),
      ['created_at'],
    );
    assert.equal((await call(s.url, 'POST', '/v1/outcomes', { runs: [ok] })).status, 200);
  } finally {
    await s.close();
  }
});

test('backtest on a handful of runs warns that PR-AUC is undefined instead of printing a bare NaN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-bt-'));
  try {
    const file = join(dir, 'three.jsonl');
    writeFileSync(
      file,
      [1, 2, 3]
        .map((i) =>
          JSON.stringify({
            repo: 'a/b',
            run_id: i,
            created_at: `2025-01-0${i}T00:00:00Z`,
            conclusion: i === 2 ? 'failure' : 'success',
          }),
        )
        .join('\n'),
    );
    const db = join(dir, 'riskgate.db');
    const r = await cli(['backtest', '--data', file, '--model', 'baseline', '--db', db]);
    assert.equal(r.code, 0, r.err);
    // Saved for the dashboard's model page ("last backtest"), which nothing wrote before.
    const store = openStore(db);
    const saved = JSON.parse(store.getState('backtest:last')!);
    store.close();
    assert.equal(saved.model, 'baseline');
    assert.deepEqual(
      saved.repos.map((x: { repo: string }) => x.repo),
      ['a/b'],
    );
    assert.deepEqual(saved.data, [file]);
    assert.match(r.err, /saved as the dashboard's last backtest in .*riskgate\.db/);
    const other = join(dir, 'other.db');
    assert.equal((await cli(['backtest', '--data', file, '--model', 'baseline', '--db', other, '--no-save'])).code, 0);
    assert.equal(existsSync(other), false, '--no-save touches no store');
    assert.match(
      r.err,
      /warning: PR-AUC\/ROC-AUC are undefined \(NaN\) for a\/b \(1 test runs, 0 % failed\): a test set needs both failures and successes/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
