import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitOrSkip } from '../support/git.ts';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/commands/check.ts';
import { parseFileCommand } from '../../src/ci/outputs.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory } from '../support/runs.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';
import { freePort } from '../support/net.ts';

const KEY = 'ci-token-0123456789abcdef';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'rg-check-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const env: NodeJS.ProcessEnv = {
    ...files,
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF_NAME: 'main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_ACTOR: 'dev1',
    GITHUB_WORKFLOW: 'ci',
    GITHUB_RUN_ATTEMPT: '1',
  };
  const read = () => ({
    output: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    outputRaw: readFileSync(files.GITHUB_OUTPUT, 'utf8'),
    env: parseFileCommand(readFileSync(files.GITHUB_ENV, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  });
  return { dir, env, read, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/**
 * The server judges a request without `created_at` at its clock, and the default high-risk periods
 * (Fri 16:00-24:00, Mon 00:00-09:00, src/policy/windows.ts) change the answer: these tests ran green on
 * Wednesday and red on Monday morning. They pin the server's clock and run at each of these instants, in
 * 2025 so the future-timestamp check never trips. The Berlin rows sit on the Mondays after the 2025 DST
 * changes (30 March, 26 October), where a fixed UTC offset would put the window's edge an hour off.
 */
const INSTANTS: { label: string; at: string; tz?: string; risky: string | null }[] = [
  { label: 'Mon 08:00 UTC', at: '2025-12-01T08:00:00Z', risky: 'Mon 00:00-09:00' },
  { label: 'Mon 09:00 UTC (window end)', at: '2025-12-01T09:00:00Z', risky: null },
  { label: 'Wed 12:00 UTC', at: '2025-12-03T12:00:00Z', risky: null },
  { label: 'Fri 15:59 UTC', at: '2025-11-28T15:59:00Z', risky: null },
  { label: 'Fri 23:59 UTC', at: '2025-11-28T23:59:00Z', risky: 'Fri 16:00-24:00' },
  { label: 'Sat 00:00 UTC', at: '2025-11-29T00:00:00Z', risky: null },
  { label: 'Sun 23:59 Berlin, spring DST (21:59Z)', at: '2025-03-30T21:59:00Z', tz: 'Europe/Berlin', risky: null },
  {
    label: 'Mon 00:00 Berlin, spring DST (22:00Z)',
    at: '2025-03-30T22:00:00Z',
    tz: 'Europe/Berlin',
    risky: 'Mon 00:00-09:00',
  },
  { label: 'Mon 09:00 CEST (07:00Z)', at: '2025-03-31T07:00:00Z', tz: 'Europe/Berlin', risky: null },
  { label: 'Sun 23:30 Berlin, autumn DST (22:30Z)', at: '2025-10-26T22:30:00Z', tz: 'Europe/Berlin', risky: null },
  {
    label: 'Mon 00:00 Berlin, autumn DST (23:00Z)',
    at: '2025-10-26T23:00:00Z',
    tz: 'Europe/Berlin',
    risky: 'Mon 00:00-09:00',
  },
];
const clockAt = (iso: string) => () => Date.parse(iso);

for (const when of INSTANTS)
  test(`against a live server at ${when.label}: outputs, env and summary are written in GitHub file-command format`, async () => {
    const scorer = fixedScorer(0.8);
    const s = await serveApp({
      scorer,
      clock: clockAt(when.at),
      env: { RISKGATE_API_KEYS: `ci:score:${KEY}`, ...(when.tz ? { RISKGATE_TIMEZONE: when.tz } : {}) },
    });
    const w = workspace();
    try {
      const c = capture();
      const code = await runCheck(
        [
          '--url',
          s.url,
          '--api-key',
          KEY,
          '--no-diff',
          '--files-changed',
          '120',
          '--additions',
          '4000',
          '--deletions',
          '10',
          '--service-health',
          'gha-cache=0.3',
        ],
        w.env,
        c.io,
      );
      assert.equal(code, 0, c.err.join('\n'));
      const sent = scorer.calls[0];
      assert.equal(sent.repo, 'acme/web');
      assert.equal(sent.head_branch, 'main');
      assert.equal(sent.actor, 'dev1');
      assert.equal(sent.files_changed, 120);
      assert.deepEqual(sent.service_health, { 'gha-cache': 0.3 });
      const { output, outputRaw, env, summary } = w.read();
      assert.equal(output.risk_level, 'high');
      assert.equal(output.probability, '0.8000');
      assert.equal(output.strategy, 'conservative');
      assert.equal(output.fail_open, 'false');
      assert.ok(Number(output.max_attempts) >= 4);
      // High risk inside a high-risk period also asks for a manual approval.
      const expected = [
        'enable_extra_retries',
        'increase_timeouts',
        ...(when.risky ? ['require_manual_approval'] : []),
        'split_build_into_chunks',
        'use_alternative_cache',
      ];
      assert.deepEqual(output.mitigations.split(','), expected);
      assert.equal(JSON.parse(output.policy).time.high_risk_period, when.risky);
      assert.match(
        outputRaw,
        /^mitigation_reasons<<ghadelimiter_[0-9a-f-]+$/m,
        'multi-line values use a heredoc delimiter',
      );
      assert.equal(output.mitigation_reasons.split('\n').length, expected.length);
      assert.equal(JSON.parse(output.policy).strategy.name, 'conservative');
      assert.equal(env.EXTRA_RETRIES, 'true');
      assert.equal(env.PARALLEL_BUILDS, 'false');
      assert.equal(env.RISKGATE_MAX_ATTEMPTS, output.max_attempts);
      assert.match(summary, /\*\*Risk: high\*\* \(probability 80\.0 %\)/);
      assert.match(summary, /\| `use_alternative_cache` \| cache down gha-cache=0.3 \|/);
      assert.match(summary, /\| fail_rate_20 \| 0.4 \| \+0.900 \|/);
      assert.match(c.out[0], /risk high \(p=0\.800\)/);
    } finally {
      w.cleanup();
      await s.close();
    }
  });

test('commit context comes from git diff --numstat of the checkout', async (t) => {
  if (!gitOrSkip(t)) return;
  const scorer = fixedScorer(0.2);
  const s = await serveApp({ scorer });
  const w = workspace();
  const repo = join(w.dir, 'repo');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      stdio: 'pipe',
    });
  try {
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'a.ts'), 'one\n');
    git('add', '.');
    git('commit', '-qm', 'first');
    writeFileSync(join(repo, 'a.ts'), 'one\ntwo\nthree\n');
    writeFileSync(join(repo, 'package-lock.json'), '{}\n');
    writeFileSync(join(repo, 'logo.bin'), Buffer.from([0, 1, 2, 0, 255]));
    git('add', '.');
    git('commit', '-qm', 'second');
    const c = capture();
    assert.equal(await runCheck(['--url', s.url, '--cwd', repo], w.env, c.io), 0, c.err.join('\n'));
    const sent = scorer.calls[0];
    assert.deepEqual([...(sent.files ?? [])].sort(), ['a.ts', 'logo.bin', 'package-lock.json']);
    assert.equal(sent.files_changed, 3);
    assert.equal(sent.additions, 3, 'binary files count as changed but add no lines');
    assert.equal(sent.deletions, 0);
    // No usable history (single commit): the check still runs, without change information.
    const lone = join(w.dir, 'lone');
    execFileSync('git', ['init', '-q', lone]);
    const c2 = capture();
    assert.equal(await runCheck(['--url', s.url, '--cwd', lone], w.env, c2.io), 0);
    assert.match(c2.err.join('\n'), /no change information/);
    assert.equal(scorer.calls[1].files, null);
  } finally {
    w.cleanup();
    await s.close();
  }
});

test('unreachable server: warns and applies the standard policy (fail-open); --fail-closed exits 1', async () => {
  const w = workspace();
  const url = `http://127.0.0.1:${await freePort()}`;
  try {
    const c = capture();
    assert.equal(await runCheck(['--url', url, '--no-diff'], w.env, c.io), 0);
    assert.match(c.err.join('\n'), /^::warning::riskgate: risk service gave no answer \(cannot reach .*ECONNREFUSED/m);
    const { output, env, summary } = w.read();
    assert.equal(output.risk_level, 'unknown');
    assert.equal(output.strategy, 'standard');
    assert.equal(output.max_attempts, '3');
    assert.equal(output.mitigations, '');
    assert.equal(output.fail_open, 'true');
    assert.equal(env.PARALLEL_BUILDS, 'true');
    assert.match(summary, /fail-open/);
    const closed = capture();
    assert.equal(await runCheck(['--url', url, '--no-diff', '--fail-closed'], w.env, closed.io), 1);
    assert.match(closed.err.join('\n'), /^::error::riskgate: no risk answer/m);
  } finally {
    w.cleanup();
  }
});

test('slow server (beyond --timeout): fail-open with a timeout warning; --fail-closed exits 1', async () => {
  const w = workspace();
  const pending = new Set<() => void>();
  const slow: Server = createServer((_req, res) => {
    const t = setTimeout(() => res.end('{}'), 5000);
    pending.add(() => clearTimeout(t));
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  try {
    const c = capture();
    assert.equal(await runCheck(['--url', url, '--no-diff', '--timeout', '0.3'], w.env, c.io), 0);
    assert.match(c.err.join('\n'), /no answer from .* within 300 ms/);
    assert.equal(w.read().output.fail_open, 'true');
    const closed = capture();
    assert.equal(await runCheck(['--url', url, '--no-diff', '--timeout', '0.3', '--fail-closed'], w.env, closed.io), 1);
  } finally {
    for (const cancel of pending) cancel();
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
    w.cleanup();
  }
});

test('a rejected key or bad request from the server is reported in the warning (fail-open)', async () => {
  const s = await serveApp({ env: { RISKGATE_API_KEYS: `ci:score:${KEY}` } });
  const w = workspace();
  try {
    const c = capture();
    assert.equal(await runCheck(['--url', s.url, '--api-key', 'wrong-key-0123456789', '--no-diff'], w.env, c.io), 0);
    assert.match(c.err.join('\n'), /HTTP 401 unauthorized/);
    assert.equal(
      await runCheck(
        ['--url', s.url, '--api-key', 'wrong-key-0123456789', '--no-diff', '--fail-closed'],
        w.env,
        capture().io,
      ),
      1,
    );
  } finally {
    w.cleanup();
    await s.close();
  }
});

test('usage errors exit 2 with a reason', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--url', 'http://x', '--no-diff'], {}, /no repository/],
    [['--no-diff', '--repo', 'a/b'], {}, /no service URL/],
    [['--url', 'http://x', '--repo', 'a/b', '--service-health', 'npm=2'], {}, /--service-health/],
    [['--url', 'http://x', '--repo', 'a/b', '--timeout', '0'], {}, /--timeout/],
    [['--url', 'http://x', '--repo', 'a/b', '--additions', '-3'], {}, /--additions/],
    [['--bogus'], {}, /Unknown option/],
  ];
  for (const [argv, env, re] of cases) {
    const c = capture();
    assert.equal(await runCheck(argv, env, c.io), 2, argv.join(' '));
    assert.match(c.err.join('\n'), re);
  }
});

test('--local scores with the local registry and store, no server', async () => {
  const w = workspace();
  const dataDir = join(w.dir, 'data');
  const modelsDir = join(w.dir, 'models');
  try {
    const c0 = capture();
    const env = { ...w.env, RISKGATE_DATA_DIR: dataDir, RISKGATE_MODELS_DIR: modelsDir };
    assert.equal(await runCheck(['--local', '--no-diff', '--json'], env, c0.io), 0, c0.err.join('\n'));
    const degraded = JSON.parse(c0.out[0]);
    assert.equal(degraded.degraded, true, 'empty registry: the rule-based fallback answers');
    const store = openStore(join(dataDir, 'riskgate.db'));
    store.upsertRuns(randomHistory(3, 200));
    const { manifest } = await trainFromStore({ store, modelsDir, kinds: ['baseline'] });
    store.close();
    const c = capture();
    assert.equal(await runCheck(['--local', '--no-diff', '--json'], env, c.io), 0, c.err.join('\n'));
    const r = JSON.parse(c.out[0]);
    assert.equal(r.degraded, false);
    assert.equal(r.model.id, manifest.id);
    assert.equal(w.read().output.risk_level, r.risk_level);
  } finally {
    w.cleanup();
  }
});

test('the riskgate CLI runs the check end to end as a workflow step would', { timeout: 30_000 }, async () => {
  // Wednesday noon: low risk outside any high-risk period is the aggressive strategy (Monday 08:00 makes it standard).
  const s = await serveApp({ scorer: fixedScorer(0.1), clock: clockAt('2025-12-03T12:00:00Z') });
  const w = workspace();
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['bin/riskgate.mjs', 'check', '--no-diff'], {
        env: { ...process.env, ...w.env, RISKGATE_URL: s.url },
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    assert.equal(code, 0);
    const { output, env } = w.read();
    assert.equal(output.risk_level, 'low');
    assert.equal(output.strategy, 'aggressive');
    assert.equal(env.SKIP_OPTIONAL_CHECKS, 'true');
  } finally {
    w.cleanup();
    await s.close();
  }
});

test('a low risk is one step safer inside a high-risk period, at each pinned instant', async () => {
  for (const when of INSTANTS) {
    const s = await serveApp({
      scorer: fixedScorer(0.1),
      clock: clockAt(when.at),
      env: when.tz ? { RISKGATE_TIMEZONE: when.tz } : {},
    });
    const w = workspace();
    try {
      const c = capture();
      assert.equal(await runCheck(['--url', s.url, '--no-diff'], w.env, c.io), 0, c.err.join('\n'));
      const { output, env } = w.read();
      assert.equal(output.risk_level, 'low', when.label);
      assert.equal(output.strategy, when.risky ? 'standard' : 'aggressive', when.label);
      assert.equal(env.SKIP_OPTIONAL_CHECKS, when.risky ? 'false' : 'true', when.label);
    } finally {
      w.cleanup();
      await s.close();
    }
  }
});
