/**
 * Issue 15.2 / 22.4: `riskgate check --report-outcome "${{ job.status }}"` closes the loop from the CI step:
 * the run attempt lands in the store through /v1/outcomes (scope report), under the key ingest gives the
 * same attempt, and reporting it again replaces it instead of adding a row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/commands/check.ts';
import { parseFileCommand } from '../../src/ci/outputs.ts';
import { mapRun } from '../../src/github/map.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';
import { freePort } from '../support/net.ts';

const REPORT_KEY = 'ci-report-0123456789abcdef';
const SCORE_KEY = 'ci-score-only-0123456789ab';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const at = (iso: string) => () => new Date(iso);

test('check, then report the outcome: the attempt is stored with duration, head, actor and change; re-reporting replaces it', async () => {
  const s = await serveApp({
    scorer: fixedScorer(0.4),
    env: { RISKGATE_API_KEYS: `ci:score+report:${REPORT_KEY},ro:score:${SCORE_KEY}` },
  });
  const dir = mkdtempSync(join(tmpdir(), 'rg-report-'));
  try {
    const ghEnv = join(dir, 'env');
    writeFileSync(ghEnv, '');
    const env: NodeJS.ProcessEnv = {
      GITHUB_ENV: ghEnv,
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_REF_NAME: 'main',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_ACTOR: 'dev1',
      GITHUB_TRIGGERING_ACTOR: 'dev2',
      GITHUB_WORKFLOW: 'ci',
      GITHUB_RUN_ID: '987654321',
      GITHUB_RUN_ATTEMPT: '1',
      RISKGATE_URL: s.url,
      RISKGATE_API_KEY: REPORT_KEY,
    };
    const diff = ['--no-diff', '--files-changed', '2', '--additions', '10', '--deletions', '1'];
    const c0 = capture();
    assert.equal(await runCheck(diff, env, c0.io, at('2026-12-01T10:00:00.000Z')), 0, c0.err.join('\n'));
    // The runner adds $GITHUB_ENV to the environment of the job's later steps.
    const later = { ...env, ...parseFileCommand(readFileSync(ghEnv, 'utf8')) };
    assert.equal(later.RISKGATE_STARTED_AT, '2026-12-01T10:00:00.000Z');

    const c1 = capture();
    assert.equal(
      await runCheck(['--report-outcome', 'failure', ...diff], later, c1.io, at('2026-12-01T10:07:30.000Z')),
      0,
      c1.err.join('\n'),
    );
    assert.match(c1.out[0], /failure of acme\/web run 987654321 attempt 1 recorded/);
    const stored = s.store.getRun('acme/web', 'ci', '987654321', 1);
    assert.ok(stored, 'the attempt is in the store');
    assert.equal(stored.conclusion, 'failure');
    assert.equal(stored.head_sha, 'a'.repeat(40));
    assert.equal(stored.actor, 'dev1');
    assert.equal(stored.head_branch, 'main');
    assert.equal(stored.files_changed, 2);
    assert.equal(
      Date.parse(stored.completed_at!) - Date.parse(stored.run_started_at!),
      450_000,
      'duration from the check to the report',
    );
    assert.equal(s.store.countRuns('acme/web'), 1);

    // The same report again (a retried step): unchanged. A later one for the same attempt replaces it.
    const c2 = capture();
    assert.equal(
      await runCheck(['--report-outcome', 'failure', ...diff], later, c2.io, at('2026-12-01T10:07:30.000Z')),
      0,
    );
    assert.match(c2.out[0], /already recorded/);
    assert.equal(
      await runCheck(['--report-outcome', 'success', ...diff], later, capture().io, at('2026-12-01T10:09:00.000Z')),
      0,
    );
    assert.equal(s.store.countRuns('acme/web'), 1);
    assert.equal(s.store.getRun('acme/web', 'ci', '987654321', 1)?.conclusion, 'success');
    // A re-run is another attempt, another row.
    assert.equal(
      await runCheck(
        ['--report-outcome', 'cancelled', ...diff],
        { ...later, GITHUB_RUN_ATTEMPT: '2' },
        capture().io,
        at('2026-12-01T11:00:00.000Z'),
      ),
      0,
    );
    assert.equal(s.store.countRuns('acme/web'), 2);
    assert.equal(s.store.getRun('acme/web', 'ci', '987654321', 2)?.conclusion, 'cancelled');

    // Ingest of the same attempt from GitHub's API lands on the same row (same key, actor and head).
    const ingested = mapRun(
      'acme/web',
      {
        id: 987654321,
        name: 'ci',
        head_sha: 'a'.repeat(40),
        head_branch: 'main',
        event: 'push',
        status: 'completed',
        conclusion: 'failure',
        created_at: '2026-12-01T09:59:40Z',
        run_started_at: '2026-12-01T09:59:41Z',
        updated_at: '2026-12-01T10:07:31Z',
        run_attempt: 1,
        actor: { login: 'dev1' },
        triggering_actor: { login: 'dev2' },
      },
      null,
    );
    assert.ok(ingested.ok);
    assert.equal(s.store.upsertRuns([ingested.record]).updated, 1, 'ingest updates the reported row, adds none');
    assert.equal(s.store.countRuns('acme/web'), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  }
});

test('a key without the report scope, or no server: a warning and exit 0; --fail-closed exits 1', async () => {
  const s = await serveApp({ env: { RISKGATE_API_KEYS: `ro:score:${SCORE_KEY}` } });
  const env = { GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '5', GITHUB_WORKFLOW: 'ci' };
  try {
    const c = capture();
    assert.equal(
      await runCheck(['--report-outcome', 'success', '--no-diff', '--url', s.url, '--api-key', SCORE_KEY], env, c.io),
      0,
    );
    assert.match(c.err.join('\n'), /^::warning::riskgate: outcome not reported \(HTTP 403 /m);
    assert.equal(
      await runCheck(
        ['--report-outcome', 'success', '--no-diff', '--url', s.url, '--api-key', SCORE_KEY, '--fail-closed'],
        env,
        capture().io,
      ),
      1,
    );
    const down = `http://127.0.0.1:${await freePort()}`;
    const c2 = capture();
    assert.equal(
      await runCheck(['--report-outcome', 'success', '--no-diff', '--url', down, '--timeout', '1'], env, c2.io),
      0,
    );
    assert.match(c2.err.join('\n'), /outcome not reported \(cannot reach/);
  } finally {
    await s.close();
  }
});

test('bad report usage exits 2 naming the field', async () => {
  const env = { GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '5', RISKGATE_URL: 'http://127.0.0.1:9' };
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      ['--report-outcome', 'exploded', '--no-diff'],
      env,
      /--report-outcome expects the job status \(success, failure, cancelled/,
    ],
    [['--report-outcome', 'success', '--no-diff'], { ...env, GITHUB_RUN_ID: '' }, /needs the run id/],
    [['--report-outcome', 'success', '--no-diff', '--run-id', '1 2'], env, /needs the run id.*"1 2"/],
    [['--report-outcome', 'success', '--no-diff', '--started-at', 'yesterday'], env, /--started-at/],
    [['--report-outcome', 'success', '--no-diff', '--local'], env, /--local/],
  ];
  for (const [argv, e, re] of cases) {
    const c = capture();
    assert.equal(await runCheck(argv, e, c.io), 2, argv.join(' '));
    assert.match(c.err.join('\n'), re);
  }
});
