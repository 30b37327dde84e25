import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { importFiles } from '../../src/records/import.ts';
import { createGitHubClient } from '../../src/github/client.ts';
import { CircuitOpenError } from '../../src/github/circuit.ts';
import { commitKey, cursorKey, ingestRepo, jobsKey } from '../../src/github/ingest.ts';
import { generateRepo, type SyntheticRepo } from './synthetic.ts';
import { startSyntheticServer, type Fault } from './replay-server.ts';
import { buildFrame } from '../../src/features/frame.ts';

const END = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

function expectedRecords(repo: SyntheticRepo): Map<string, { files: number; conclusion: unknown }> {
  const out = new Map<string, { files: number; conclusion: unknown }>();
  for (const r of repo.runs)
    r.attempts.forEach((p, i) =>
      out.set(`${r.id}:${i + 1}`, {
        files: repo.commits.get(p.head_sha as string)!.files.length,
        conclusion: p.conclusion,
      }),
    );
  return out;
}

test('ingests every run attempt and every file of every commit; in-progress runs revisited until done; repeat pass is conditional-only', async () => {
  const repo = generateRepo({
    runs: 600,
    commits: 120,
    bigCommits: 3,
    inProgress: 3,
    fetchesBeforeDone: 2,
    end: END,
    seed: 7,
  });
  const srv = await startSyntheticServer(repo);
  const store = openStore(':memory:');
  try {
    const client = createGitHubClient({ baseUrl: srv.url, token: 'test-token', retryBaseMs: 5 });
    const progress: number[] = [];
    const s1 = await ingestRepo({ client, store, repo: repo.full, onProgress: (p) => progress.push(p.runs) });
    assert.equal(s1.pending, 3, 'three runs still running after the first pass');
    assert.equal(store.countRuns(repo.full), repo.attemptCount, 'every attempt stored once');
    assert.ok(progress.length > 5 && progress.at(-1)! > 0);

    const s2 = await ingestRepo({ client, store, repo: repo.full });
    assert.equal(s2.pending, 0, 'revisited runs concluded');
    assert.equal(s2.updated, 3);

    const records = [...store.iterateRuns({ repo: repo.full })];
    const expected = expectedRecords(repo);
    assert.equal(records.length, expected.size);
    const keys = new Set(records.map((r) => `${r.run_id}:${r.run_attempt}`));
    assert.equal(keys.size, records.length, 'no duplicates');
    for (const r of records) {
      const e = expected.get(`${r.run_id}:${r.run_attempt}`);
      assert.ok(e, `unexpected record ${r.run_id}:${r.run_attempt}`);
      assert.equal(r.files_changed, e.files, `all files of ${r.head_sha}`);
      assert.equal(r.files!.length, e.files);
      assert.equal(r.conclusion, e.conclusion);
    }
    assert.ok(
      records.some((r) => r.files_changed! > 300),
      'a commit with > 300 files was paged and merged',
    );
    assert.ok(
      records.some((r) => r.run_attempt === 3),
      're-run attempts stored',
    );
    assert.ok(records.some((r) => r.conclusion === 'startup_failure'));
    // Each commit fetched once: one first-page request per distinct sha.
    const commitFirstPages = srv.log.filter((l) => /^\/repos\/[^/]+\/[^/]+\/commits\/[0-9a-f]{40}$/.test(l.url));
    assert.equal(commitFirstPages.length, repo.commits.size);
    assert.ok(
      srv.log.some((l) => l.url.startsWith(`/repositories/${repo.repoId}/commits/`)),
      'followed /repositories/{id} next links',
    );

    const before = srv.log.length;
    const s3 = await ingestRepo({ client, store, repo: repo.full });
    const third = srv.log.slice(before);
    assert.ok(third.length >= 1);
    assert.ok(
      third.every((l) => l.ifNoneMatch),
      'repeat pass sends only conditional requests',
    );
    assert.equal(s3.inserted + s3.updated, 0, 'stores nothing new');
    assert.equal(s3.requests, s3.conditionalRequests);
    // The listing changed once when the runs concluded; after that one re-walk it is a single 304.
    const before4 = srv.log.length;
    await ingestRepo({ client, store, repo: repo.full });
    assert.deepEqual(
      srv.log.slice(before4).map((l) => [l.status, Boolean(l.ifNoneMatch)]),
      [[304, true]],
    );
  } finally {
    store.close();
    await srv.close();
  }
});

test('honours primary and secondary limits (incl. old "abuse detection" wording) and retries 5xx bursts', async () => {
  const repo = generateRepo({ runs: 250, commits: 50, bigCommits: 1, end: END, seed: 3 });
  const faults: Fault[] = [
    { at: 3, kind: 'primary', resetInSec: 1 },
    { at: 20, kind: 'secondary', retryAfterSec: 1 },
    { at: 40, kind: 'abuse' },
    { at: 60, kind: '5xx', count: 3, status: 502 },
    { at: 80, kind: 'primary', resetInSec: 1, status: 429 },
  ];
  const srv = await startSyntheticServer(repo, { faults });
  const store = openStore(':memory:');
  try {
    const events: string[] = [];
    const client = createGitHubClient({
      baseUrl: srv.url,
      token: 't',
      retryBaseMs: 5,
      secondaryFallbackSec: 1,
      onRateLimit: (e) => events.push(`${e.kind}:${e.source}`),
    });
    const s = await ingestRepo({ client, store, repo: repo.full });
    assert.equal(store.countRuns(repo.full), repo.attemptCount, 'complete despite faults');
    assert.deepEqual(srv.violations, [], 'no request before the announced reset / retry-after');
    assert.deepEqual(events, [
      'primary:x-ratelimit-reset',
      'secondary:retry-after',
      'secondary:fallback',
      'primary:x-ratelimit-reset',
    ]);
    assert.equal(srv.log.filter((l) => l.status === 502).length, 3);
    assert.equal(client.health().healthy, true);
    assert.ok(s.requests > 0);
  } finally {
    store.close();
    await srv.close();
  }
});

test('jobs: records which job failed for failed attempts', async () => {
  const repo = generateRepo({ runs: 60, commits: 20, bigCommits: 0, end: END, seed: 11 });
  const srv = await startSyntheticServer(repo);
  const store = openStore(':memory:');
  try {
    const client = createGitHubClient({ baseUrl: srv.url, token: 't' });
    await ingestRepo({ client, store, repo: repo.full, jobs: true });
    const failed = [...store.iterateRuns()].filter((r) => r.conclusion === 'failure');
    assert.ok(failed.length > 0);
    for (const r of failed)
      assert.deepEqual(JSON.parse(store.getState(jobsKey(repo.full, r.run_id, r.run_attempt))!), ['test']);
    assert.ok(srv.log.some((l) => /\/jobs\?.*filter=all/.test(l.url)));

    // Ingested records are plain canonical records: exported to JSONL and imported they are identical,
    // so training and backtesting see no difference between the two sources.
    const dir = mkdtempSync(join(tmpdir(), 'riskgate-ingest-jsonl-'));
    const other = openStore(':memory:');
    try {
      const file = join(dir, 'runs.jsonl');
      writeFileSync(file, [...store.iterateRuns()].map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sum = await importFiles(other, [file]);
      assert.equal(sum.bad.length, 0);
      assert.deepEqual([...other.iterateRuns()], [...store.iterateRuns()]);
      // And the one feature definition turns both into the same training frame.
      const a = buildFrame(store.iterateRuns()),
        b = buildFrame(other.iterateRuns());
      assert.ok(a.n > 0);
      assert.deepEqual(b.X, a.X);
      assert.deepEqual(b.y, a.y);
    } finally {
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    store.close();
    await srv.close();
  }
});

test('circuit opens on a persistent outage, keeps the cursor, and a later pass resumes', async () => {
  const repo = generateRepo({ runs: 150, commits: 30, bigCommits: 0, end: END, seed: 5 });
  const srv = await startSyntheticServer(repo, { faults: [{ at: 40, kind: '5xx', count: 40, status: 503 }] });
  const store = openStore(':memory:');
  try {
    let t = Date.now();
    const client = createGitHubClient({
      baseUrl: srv.url,
      token: 't',
      retryBaseMs: 1,
      retries: 1,
      circuit: { failureThreshold: 3, cooldownMs: 60_000, now: () => t },
    });
    let err: unknown;
    for (let i = 0; i < 5 && !(err instanceof CircuitOpenError); i++) {
      try {
        await ingestRepo({ client, store, repo: repo.full });
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err instanceof CircuitOpenError, `got ${String(err)}`);
    assert.equal(client.health().healthy, false);
    assert.equal(client.health().state, 'open');
    const stored = store.countRuns(repo.full);
    assert.ok(store.getState(cursorKey(repo.full)), 'cursor saved');
    const sent = srv.log.length;
    await assert.rejects(ingestRepo({ client, store, repo: repo.full }), CircuitOpenError);
    assert.equal(srv.log.length, sent, 'no calls while open');
    // Outage over, cooldown passed: the probe succeeds and the ingest completes.
    while (srv.log.length < 90) await fetch(`${srv.url}/nothing`);
    t += 61_000;
    await ingestRepo({ client, store, repo: repo.full });
    assert.equal(client.health().healthy, true);
    assert.equal(store.countRuns(repo.full), repo.attemptCount);
    assert.ok(store.countRuns(repo.full) >= stored);
    assert.ok(store.getState(commitKey(repo.full, repo.runs[0].attempts[0].head_sha as string)));
  } finally {
    store.close();
    await srv.close();
  }
});
