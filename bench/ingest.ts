/**
 * The ingestion bar: a 25,000-run / 5,000-commit synthetic history served by the local replay server
 * (with primary + secondary limits and a 5xx burst injected), ingested from scratch, then a second pass.
 * Run: node --import tsx bench/ingest.ts [--runs 25000] [--commits 5000]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/sqlite.ts';
import { createGitHubClient } from '../src/github/client.ts';
import { ingestRepo } from '../src/github/ingest.ts';
import { generateRepo } from '../test/github/synthetic.ts';
import { startSyntheticServer } from '../test/github/replay-server.ts';

export async function run(opts: { runs?: number; commits?: number } = {}): Promise<Record<string, unknown>> {
  const runs = opts.runs ?? 25_000;
  const commits = opts.commits ?? 5_000;
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  const repo = generateRepo({
    runs,
    commits,
    bigCommits: Math.max(1, Math.floor(commits / 200)),
    inProgress: 5,
    end,
    spacingSec: 300,
  });
  const srv = await startSyntheticServer(repo, {
    faults: [
      { at: 500, kind: 'primary', resetInSec: 1 },
      { at: 1500, kind: 'secondary', retryAfterSec: 1 },
      { at: 2500, kind: 'abuse', retryAfterSec: 1 },
      { at: 3500, kind: '5xx', count: 3 },
    ],
  });
  const store = openStore(':memory:');
  const client = createGitHubClient({ baseUrl: srv.url, token: 'bench', retryBaseMs: 50 });
  const t0 = Date.now();
  const s1 = await ingestRepo({
    client,
    store,
    repo: repo.full,
    onProgress: (p) =>
      p.runs % 2000 < 100 &&
      process.stderr.write(`  ${p.runs} runs, ${p.commits} commits, ${p.requests} requests, ETA ${p.etaSec ?? '?'}s\n`),
  });
  const secs = (Date.now() - t0) / 1000;

  const records = [...store.iterateRuns({ repo: repo.full })];
  const keys = new Set(records.map((r) => `${r.workflow}\u0000${r.run_id}\u0000${r.run_attempt}`));
  let fileMismatch = 0;
  for (const r of records)
    if (r.files_changed !== Math.min(3000, repo.commits.get(r.head_sha!)!.files.length)) fileMismatch++;
  const distinctShas = new Set(records.map((r) => r.head_sha)).size;

  const before = srv.log.length;
  const s2 = await ingestRepo({ client, store, repo: repo.full });
  const second = srv.log.slice(before);

  const out = {
    runs_listed: runs,
    attempts_expected: repo.attemptCount,
    records_stored: records.length,
    duplicates: records.length - keys.size,
    missing: repo.attemptCount - keys.size,
    file_count_mismatches: fileMismatch,
    distinct_commits: distinctShas,
    commits_fetched: s1.commitsFetched,
    requests: s1.requests,
    seconds: Number(secs.toFixed(1)),
    requests_per_second: Math.round(s1.requests / secs),
    throttle_violations: srv.violations.length,
    pending_after_first_pass: s1.pending,
    second_pass: {
      requests: second.length,
      conditional: second.filter((l) => l.ifNoneMatch).length,
      statuses: [...new Set(second.map((l) => l.status))],
      stored_new: s2.inserted + s2.updated,
    },
    bar: 'every run and file, no duplicates, no request before its reset, second pass conditional-only and stores nothing',
    pass: false,
  };
  out.pass =
    out.duplicates === 0 &&
    out.missing === 0 &&
    out.file_count_mismatches === 0 &&
    out.throttle_violations === 0 &&
    out.second_pass.requests === out.second_pass.conditional &&
    out.second_pass.stored_new === 0;
  store.close();
  await srv.close();
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '25000' }, commits: { type: 'string', default: '5000' } },
  });
  console.log(JSON.stringify(await run({ runs: Number(values.runs), commits: Number(values.commits) }), null, 2));
}
