/**
 * Opt-in: replays the real recorded GitHub responses in ../shared/fixtures/github and checks that the
 * client, paging and mapping read them right. Skips when the folder is absent (fails in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGitHubClient } from '../../src/github/client.ts';
import { classifyRateLimit, parseLink, header } from '../../src/github/ratelimit.ts';
import { failedJobsByAttempt, mapRun, mergeCommitPages, type GhCommitPage, type GhRun } from '../../src/github/map.ts';
import { startFixtureServer } from './replay-server.ts';
import { generateRepo } from './synthetic.ts';

const ROOT = join(import.meta.dirname, '../../../shared/fixtures/github');
const present = existsSync(join(ROOT, 'README.md'));

function need(t: { skip: (m: string) => void }): boolean {
  if (present) return true;
  if (process.env.CI === 'true') assert.fail(`recorded GitHub fixtures missing at ${ROOT}`);
  t.skip(`recorded GitHub fixtures not present at ${ROOT}`);
  return false;
}

async function withScenario<T>(
  name: string,
  fn: (c: ReturnType<typeof createGitHubClient>, url: string) => Promise<T>,
): Promise<T> {
  const srv = await startFixtureServer(join(ROOT, name));
  try {
    const out = await fn(createGitHubClient({ baseUrl: srv.url, token: 'x', retryBaseMs: 1 }), srv.url);
    assert.deepEqual(srv.unmatched, [], 'every request matched a recording');
    return out;
  } finally {
    await srv.close();
  }
}

test('large commit: files merged across 3 Link-paged /repositories/{id} pages = 691', async (t) => {
  if (!need(t)) return;
  await withScenario('commit-files-paginated-hub4j', async (c, base) => {
    const pages: GhCommitPage[] = [];
    let url: string | undefined = '/repos/hub4j-test-org/CommitTest/commits/b83812aa76bb7c3c43da96fbf8aec1e45db87624';
    while (url) {
      const r: { data: GhCommitPage | null; headers: Record<string, unknown> } = await c.get<GhCommitPage>(url);
      pages.push(r.data!);
      url = parseLink(header(r.headers as never, 'link')).next;
      if (url) assert.ok(url.startsWith(`${base}/repositories/657543062/`), 'link rewritten to the replay server');
    }
    assert.equal(pages.length, 3);
    const merged = mergeCommitPages(pages);
    assert.equal(merged.files.length, 691);
    assert.equal(merged.additions! + merged.deletions!, 691);
  });
});

test('startup_failure conclusions are kept', async (t) => {
  if (!need(t)) return;
  await withScenario('startup-failure', async (c) => {
    const r = await c.get<{ workflow_runs: GhRun[] }>(
      '/repos/hub4j-test-org/GHWorkflowRunTest/actions/workflows/75497789/runs',
    );
    const recs = r.data!.workflow_runs.map((run) => mapRun('hub4j-test-org/GHWorkflowRunTest', run, null));
    assert.equal(recs.length, 4);
    for (const m of recs) {
      assert.ok(m.ok);
      assert.equal(m.record.conclusion, 'startup_failure');
    }
  });
});

test('2020 payloads without run_attempt / run_started_at map to attempt 1', async (t) => {
  if (!need(t)) return;
  await withScenario('list-runs-phishbench', async (c) => {
    const r = await c.get<{ total_count: number; workflow_runs: GhRun[] }>(
      '/repos/ReDASers/Phishing-Detection/actions/runs',
    );
    assert.equal(r.data!.workflow_runs.length, 30);
    assert.match(parseLink(header(r.headers, 'link')).next!, /\/repositories\/146139403\/actions\/runs\?page=2$/);
    for (const run of r.data!.workflow_runs) {
      const m = mapRun('ReDASers/Phishing-Detection', run, null);
      assert.ok(m.ok, m.ok ? '' : m.error);
      assert.equal(m.record.run_attempt, 1);
      assert.equal(m.record.run_started_at, null);
    }
  });
});

test('re-run attempt 2 maps as its own record', async (t) => {
  if (!need(t)) return;
  await withScenario('run-attempts', async (c) => {
    const r = await c.get<GhRun>('/repos/EnricoMi/PyGithub/actions/runs/26365060973/attempts/2');
    const m = mapRun('EnricoMi/PyGithub', r.data!, null);
    assert.ok(m.ok);
    assert.equal(m.record.run_attempt, 2);
    assert.equal(m.record.workflow, 'CodeQL Advanced');
    assert.match(r.data!.previous_attempt_url!, /\/attempts\/1$/);
  });
});

test('jobs with filter=all: failed jobs grouped by attempt (old jobs lack run_attempt)', async (t) => {
  if (!need(t)) return;
  await withScenario('run-jobs', async (c) => {
    const r = await c.get<{ jobs: { name: string; conclusion: string }[] }>(
      '/repos/hub4j-test-org/GHWorkflowRunTest/actions/runs/719643947/jobs?filter=all&per_page=10',
    );
    assert.equal(r.data!.jobs.length, 2);
    assert.equal(failedJobsByAttempt(r.data!.jobs).size, 0, 'both jobs succeeded');
  });
});

test('304 Not Modified is an answer, not an error', async (t) => {
  if (!need(t)) return;
  await withScenario('not-modified-304', async (c) => {
    const r = await c.get('/repos/akfish/PyGithub', { etag: '"8600bedcb7fed1d8065e1693e05529ce"' });
    assert.equal(r.status, 304);
    assert.equal(r.data, null);
    assert.equal(c.stats.conditional, 1);
    assert.equal(c.health().healthy, true);
  });
});

test('recorded 403s: retry-after 60 "abuse detection" is secondary; remaining 0 without reset is primary', (t) => {
  if (!need(t)) return;
  const now = Date.now();
  const sec = JSON.parse(
    readFileSync(join(ROOT, 'rate-limited-secondary/002-search-code-search-403.json'), 'utf8'),
  ).response;
  assert.deepEqual(classifyRateLimit(sec.status, sec.headers, sec.body.message, { now }), {
    kind: 'secondary',
    resumeAt: now + 60_000,
    source: 'retry-after',
  });
  const pri = JSON.parse(readFileSync(join(ROOT, 'rate-limited-primary/002-users-jacquev6-403.json'), 'utf8')).response;
  assert.deepEqual(classifyRateLimit(pri.status, pri.headers, pri.body.message, { now, primaryFallbackSec: 60 }), {
    kind: 'primary',
    resumeAt: now + 60_000,
    source: 'fallback',
  });
});

test('synthetic run payloads carry every field the real recordings have', (t) => {
  if (!need(t)) return;
  const real = JSON.parse(readFileSync(join(ROOT, 'run-attempts/003-runs-attempts.json'), 'utf8')).response.body;
  const syn = generateRepo({ runs: 50, commits: 10, end: Date.now() - 3_600_000 }).runs[0].attempts[0];
  assert.deepEqual(Object.keys(syn).sort(), Object.keys(real).sort());
  const realCommit = JSON.parse(
    readFileSync(join(ROOT, 'commit-files-paginated-hub4j/004-commits.json'), 'utf8'),
  ).response;
  assert.match(realCommit.headers.link, /\/repositories\/\d+\/commits\/[0-9a-f]{40}\?page=2>; rel="next"/);
});
