import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { createGitHubClient } from '../../src/github/client.ts';
import { ingestRepo } from '../../src/github/ingest.ts';
import { generateRepo } from './synthetic.ts';
import { startSyntheticServer, type ReplayServer } from './replay-server.ts';

const END = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const OPTS = { runs: 700, commits: 140, bigCommits: 2, inProgress: 2, end: END, seed: 99 };

const dump = (s: Store) => [...s.iterateRuns()].map((r) => JSON.stringify(r)).sort();

function runCli(
  srv: ReplayServer,
  db: string,
  killAt: number | null,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'ingest', '--repo', 'acme/widgets', '--base-url', srv.url, '--db', db],
      { env: { ...process.env, GITHUB_TOKEN: 'test-token' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    srv.onRequest = killAt == null ? undefined : (n) => void (n >= killAt && child.kill('SIGKILL'));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test('killed at random points and restarted, the store ends identical to an uninterrupted ingest', async () => {
  // Uninterrupted reference, in process.
  const refSrv = await startSyntheticServer(generateRepo(OPTS));
  const ref = openStore(':memory:');
  await ingestRepo({
    client: createGitHubClient({ baseUrl: refSrv.url, token: 't' }),
    store: ref,
    repo: 'acme/widgets',
  });
  const expected = dump(ref);
  const total = refSrv.log.length;
  ref.close();
  await refSrv.close();
  assert.ok(expected.length > OPTS.runs);

  const dir = mkdtempSync(join(tmpdir(), 'riskgate-resume-'));
  const srv = await startSyntheticServer(generateRepo(OPTS));
  try {
    const db = join(dir, 'ingest.db');
    // Three kill points spread over the run, jittered so different runs hit different page/commit states.
    const kills = [0.2, 0.5, 0.8].map((f) => Math.max(3, Math.floor(total * (f + (Math.random() - 0.5) * 0.15))));
    let killed = 0;
    for (const k of kills) {
      const r = await runCli(srv, db, k);
      if (r.signal === 'SIGKILL') killed++;
      else assert.equal(r.code, 0, r.stderr);
    }
    assert.ok(killed >= 2, `expected the child to be killed mid-run (killed ${killed} times)`);
    const last = await runCli(srv, db, null);
    assert.equal(last.code, 0, last.stderr);
    const s = openStore(db);
    try {
      assert.deepEqual(dump(s), expected);
    } finally {
      s.close();
    }
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
