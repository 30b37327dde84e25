import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/sqlite.ts';
import { rng } from '../support/runs.ts';

/** Rows a reader sees committed so far (0 while the file or its table does not exist yet). */
function committedRows(file: string): number {
  if (!existsSync(file)) return 0;
  try {
    const raw = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (raw.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
    } finally {
      raw.close();
    }
  } catch {
    return 0;
  }
}

/**
 * Kills `riskgate import` at random points while it writes and checks that the store always opens cleanly
 * and holds a consistent prefix of the file (whole batches, in order), and that a re-run completes it.
 */
test('an import killed at random points leaves a clean store holding a prefix of the file; a re-run completes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-crash-'));
  const file = join(dir, 'runs.jsonl');
  const N = 150_000;
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    lines.push(
      JSON.stringify({
        repo: 'acme/web',
        run_id: i,
        created_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
        conclusion: i % 4 ? 'success' : 'failure',
        files: ['src/a.ts', `src/f${i}.ts`],
      }),
    );
  }
  writeFileSync(file, lines.join('\n'));
  const r = rng(99);
  const prefixes: number[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const db = join(dir, `kill-${attempt}.db`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', file, '--db', db], {
      stdio: 'ignore',
    });
    // Listen before killing: an import that finishes first has already emitted 'exit'.
    let finished = false;
    const exited = new Promise((res) => child.once('exit', () => res((finished = true))));
    // Kill at a random moment after the first batch is committed, not after a guessed start-up time.
    while (!finished && committedRows(db) === 0) await new Promise((res) => setTimeout(res, 10));
    await new Promise((res) => setTimeout(res, r() * 600));
    child.kill('SIGKILL');
    await exited;

    if (existsSync(db)) {
      const raw = new Database(db, { readonly: true });
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      raw.close();
    }
    const store = openStore(db);
    const ids = [...store.iterateRuns()].map((x) => Number(x.run_id));
    assert.equal(ids.length % 5000, 0, `whole batches only (got ${ids.length})`);
    ids.forEach((id, k) => assert.equal(id, k, 'a prefix of the file, in order'));
    prefixes.push(ids.length);
    store.close();

    const again = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', file, '--db', db], {
      stdio: 'ignore',
    });
    const code = await new Promise((res) => again.once('exit', res));
    assert.equal(code, 0);
    const done = openStore(db);
    assert.equal(done.countRuns(), N);
    done.close();
  }
  assert.ok(
    prefixes.some((n) => n > 0 && n < N),
    `at least one kill landed mid-import (prefixes ${prefixes.join(', ')})`,
  );
});
