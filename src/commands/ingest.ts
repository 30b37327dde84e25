import { createGitHubClient, type Logger } from '../github/client.ts';
import { CircuitBreaker, CircuitOpenError } from '../github/circuit.ts';
import { IngestAbortedError, ingestRepo, type IngestProgress } from '../github/ingest.ts';
import { commandSettings } from '../config/commands.ts';
import { parseCommandArgs } from './args.ts';
import { openDefaultStore, progressDone, progressLine, storePath } from './shared.ts';

export const summary = "Pull a repository's GitHub Actions runs and commits into the store (incremental, resumable)";
export const help = `Usage: riskgate ingest --repo OWNER/NAME [--since ISO] [--jobs] [--base-url URL] [--db data/riskgate.db] [--verbose]

Fetches workflow runs (every attempt of every re-run) and the commit behind each run, maps them to
canonical run records and stores them. The cursor is saved after every page: an interrupted ingest
resumes where it stopped, and a repeat ingest only sends conditional requests.

  --repo      repository to ingest (required)
  --since     earliest run creation time to fetch, e.g. 2024-01-01T00:00:00Z (first ingest only;
              an earlier value than before widens the history)
  --jobs      also fetch the jobs of failed runs to record which job failed
  --base-url  API root for GitHub Enterprise Server, e.g. https://ghe.example.com/api/v3
  --db        SQLite store (default: $RISKGATE_DATA_DIR/riskgate.db or data/riskgate.db)
  --verbose   structured JSON log lines on stderr

The token comes from GITHUB_TOKEN (a personal token or a GitHub App installation token); it is never logged.

Exit codes: 0 done, 2 bad arguments, 1 failure (GitHub unavailable, auth error, interrupted).

Examples:
  GITHUB_TOKEN=ghp_... riskgate ingest --repo octo-org/octo-repo
  riskgate ingest --repo octo-org/octo-repo --since 2024-01-01T00:00:00Z --jobs
  riskgate ingest --repo team/app --base-url https://ghe.example.com/api/v3 --db /var/lib/riskgate/riskgate.db`;

function fmtEta(sec: number | null): string {
  if (sec == null) return '?';
  if (sec < 90) return `${sec}s`;
  return sec < 5400 ? `${Math.round(sec / 60)}m` : `${(sec / 3600).toFixed(1)}h`;
}

export function progressText(p: IngestProgress): string {
  const total = p.estimate != null ? `/~${p.estimate.toLocaleString('en-US')}` : '';
  return `${p.repo}: ${p.runs.toLocaleString('en-US')}${total} runs, ${p.commits.toLocaleString('en-US')} commits, ${p.requests} requests, rate limit left ${p.rateRemaining ?? '?'}, ETA ${fmtEta(p.etaSec)}${p.phase === 'revisiting' ? ' (revisiting in-progress runs)' : ''}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    options: {
      repo: { type: 'string' },
      since: { type: 'string' },
      jobs: { type: 'boolean', default: false },
      'base-url': { type: 'string' },
      db: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const repo = values.repo;
  if (!repo || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)) {
    console.error(
      `riskgate ingest: --repo must be OWNER/NAME (got ${repo === undefined ? 'nothing' : JSON.stringify(repo)})\n\n${help}`,
    );
    return 2;
  }
  if (
    values.since !== undefined &&
    (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(values.since) || Number.isNaN(Date.parse(values.since)))
  ) {
    console.error(
      `riskgate ingest: --since must be an ISO 8601 date or timestamp, e.g. 2024-01-01T00:00:00Z (got ${JSON.stringify(values.since)})`,
    );
    return 2;
  }
  const baseUrl = values['base-url'];
  if (baseUrl !== undefined) {
    try {
      if (!/^https?:$/.test(new URL(baseUrl).protocol)) throw new Error();
    } catch {
      console.error(`riskgate ingest: --base-url must be an http(s) URL (got ${JSON.stringify(baseUrl)})`);
      return 2;
    }
  }
  const token = commandSettings().githubToken;
  if (!token)
    console.error('riskgate ingest: GITHUB_TOKEN is not set; unauthenticated requests are limited to 60 an hour');

  const log: Logger | undefined = values.verbose
    ? {
        info: (o, m) =>
          process.stderr.write(JSON.stringify({ level: 'info', time: new Date().toISOString(), ...o, msg: m }) + '\n'),
        warn: (o, m) =>
          process.stderr.write(JSON.stringify({ level: 'warn', time: new Date().toISOString(), ...o, msg: m }) + '\n'),
      }
    : undefined;
  const store = openDefaultStore(values.db);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const client = createGitHubClient({ token, baseUrl, log, circuit: new CircuitBreaker({ name: 'github', store }) });
    const sum = await ingestRepo({
      client,
      store,
      repo,
      since: values.since,
      jobs: values.jobs,
      signal: ac.signal,
      log,
      onProgress: (p) => progressLine(progressText(p)),
    });
    progressDone();
    console.log(
      `${repo}: ${sum.runs} run records in ${sum.seconds.toFixed(1)} s (${sum.inserted} new, ${sum.updated} updated, ${sum.unchanged} unchanged, ` +
        `${sum.invalid} invalid skipped), ${sum.commitsFetched} commits fetched, ${sum.requests} requests (${sum.conditionalRequests} conditional, ` +
        `${sum.notModified} not modified), ${sum.pending} run(s) still in progress; store ${storePath(values.db)}`,
    );
    return 0;
  } catch (err) {
    progressDone();
    const e = err as { status?: number; message?: string };
    if (err instanceof IngestAbortedError) console.error(`riskgate ingest: ${err.message}`);
    else if (err instanceof CircuitOpenError)
      console.error(`riskgate ingest: GitHub is unavailable (${err.message}); the cursor is saved, re-run later`);
    else if (e.status === 401) console.error('riskgate ingest: authentication failed (401); check GITHUB_TOKEN');
    else if (e.status === 404)
      console.error(`riskgate ingest: ${repo} not found (404), or the token lacks actions:read on it`);
    else if (e.status === 403) console.error(`riskgate ingest: access denied (403): ${e.message}`);
    else console.error(`riskgate ingest: ${e.message ?? String(err)}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    store.close();
  }
}
