/**
 * Issue 15.3: `riskgate check` as GitHub Actions really behaves, checked against the peers' own code:
 * - workflow commands escaped as actions/toolkit packages/core/src/command.ts (commit 4b9afa4c890de9d1a84c75bb617ee4d96207823a)
 *   and parsed back with a port of actions/runner src/Runner.Common/ActionCommand.cs TryParseV2
 *   (commit 258d6c857db3519913f7deb6004b60172f8043ae);
 * - $GITHUB_OUTPUT / $GITHUB_ENV parsed with a port of actions/runner src/Runner.Worker/FileCommandManager.cs
 *   EnvFileKeyValuePairs (same commit), multi-line values shaped as toolkit packages/core/src/file-command.ts
 *   prepareKeyValueMessage;
 * - pull_request: the PR head is scored and diffed against the PR base; the actor is the run's actor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitOrSkip } from '../support/git.ts';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/commands/check.ts';
import { collectContext } from '../../src/ci/context.ts';
import { allowedEnvName, envOf, formatFileCommand } from '../../src/ci/outputs.ts';
import { escapeData, escapeProperty, workflowCommand } from '../../src/ci/workflow-commands.ts';
import { standardPolicy } from '../../src/policy/index.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';
import { runnerCommands, runnerParseFileCommand } from '../support/actions-runner.ts';

// ---- actions/toolkit packages/core/src/command.ts @4b9afa4, lines 103-117 (toCommandValue of a string is the string) ----
function toolkitEscapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function toolkitEscapeProperty(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const anyText = fc.string({
  unit: fc.constantFrom(
    'a',
    ' ',
    '\n',
    '\r',
    '%',
    ':',
    ',',
    '=',
    '<',
    '::',
    '%0A',
    '%25',
    '::error::',
    'é',
    'ghadelimiter_x',
  ),
});

test('workflow command data and properties are escaped exactly as the toolkit escapes them', () => {
  fc.assert(
    fc.property(anyText, (s) => {
      assert.equal(escapeData(s), toolkitEscapeData(s));
      assert.equal(escapeProperty(s), toolkitEscapeProperty(s));
    }),
  );
});

test('a message with newlines stays one command and the runner reads back exactly the message', () => {
  fc.assert(
    fc.property(anyText, anyText, (msg, title) => {
      const cmds = runnerCommands(workflowCommand('warning', msg, { title }));
      assert.equal(cmds.length, 1);
      assert.equal(cmds[0].command, 'warning');
      assert.equal(cmds[0].data, msg);
      // The runner trims the property list (TryParseV2 `.Trim()`): the last property loses its trailing spaces.
      assert.equal(cmds[0].properties.title, title.replace(/ +$/, '') || undefined);
    }),
  );
  // The case that was seen: a server's error text with a newline and a command in it.
  const evil = 'HTTP 500\n::error::injected\r\n100%';
  assert.deepEqual(
    runnerCommands(workflowCommand('warning', evil)).map((c) => [c.command, c.data]),
    [['warning', evil]],
  );
});

test('output and env files: the runner parses back every value (single-line, multi-line, odd characters)', () => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
  fc.assert(
    fc.property(fc.dictionary(name, anyText), (entries) => {
      assert.deepEqual(runnerParseFileCommand(formatFileCommand(entries)), Object.entries(entries));
    }),
    { numRuns: 500 },
  );
  // Multi-line values take the toolkit's shape: key<<ghadelimiter_<uuid> EOL value EOL delimiter.
  const text = formatFileCommand({ reasons: 'a\nb' });
  assert.match(
    text,
    /^reasons<<(ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\na\nb\n\1\n$/,
  );
  assert.throws(
    () => formatFileCommand({ 'a<<b': 'x' }),
    /invalid output name/,
    'the runner would read "a<<b=x" as a heredoc',
  );
});

test("the server's strategy variables cannot set the runner's, the shell's or Riskgate's own environment", () => {
  for (const bad of [
    'BASH_ENV',
    'NODE_OPTIONS',
    'PATH',
    'LD_PRELOAD',
    'GITHUB_TOKEN',
    'RUNNER_TEMP',
    'RISKGATE_URL',
    'RISKGATE_API_KEY',
    'lower',
    'A-B',
    'X'.repeat(65),
    'A\nB',
  ])
    assert.equal(allowedEnvName(bad), false, bad);
  for (const ok of ['EXTRA_RETRIES', 'PARALLEL_BUILDS', 'SKIP_OPTIONAL_CHECKS'])
    assert.equal(allowedEnvName(ok), true, ok);
  const policy = standardPolicy();
  policy.strategy.env = { ...policy.strategy.env, BASH_ENV: '/tmp/x', RISKGATE_URL: 'https://evil.example' };
  const env = envOf({ response: null, policy });
  assert.equal(env.BASH_ENV, undefined);
  assert.equal(env.RISKGATE_URL, undefined);
  assert.equal(env.PARALLEL_BUILDS, 'true');
});

test('pull_request: the PR head is scored and the diff is the PR against its base, with fetch-depth 0 or 2', async (t) => {
  if (!gitOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'rg-pr-'));
  const scorer = fixedScorer(0.2);
  const s = await serveApp({ scorer });
  const origin = join(dir, 'origin');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync(
      'git',
      ['-C', cwd, '-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    ).trim();
  try {
    execFileSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q', origin]);
    writeFileSync(join(origin, 'base.txt'), 'b\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-qm', 'base');
    git(origin, 'checkout', '-qb', 'feature');
    writeFileSync(join(origin, 'one.ts'), '1\n2\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-qm', 'pr 1');
    writeFileSync(join(origin, 'two.ts'), '3\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-qm', 'pr 2');
    const head = git(origin, 'rev-parse', 'HEAD');
    git(origin, 'checkout', '-q', 'main');
    writeFileSync(join(origin, 'main-only.txt'), 'm\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-qm', 'main moves on');
    const base = git(origin, 'rev-parse', 'HEAD');
    // GitHub's refs/pull/N/merge: the PR head merged into the base tip.
    git(origin, 'checkout', '-q', '--detach', base);
    git(origin, 'merge', '-q', '--no-ff', '-m', 'Merge head into base', head);
    const merge = git(origin, 'rev-parse', 'HEAD');
    git(origin, 'update-ref', 'refs/pull/1/merge', merge);

    const event = join(dir, 'event.json');
    writeFileSync(
      event,
      JSON.stringify({
        action: 'synchronize',
        number: 1,
        pull_request: { head: { sha: head, ref: 'feature' }, base: { sha: base, ref: 'main' } },
      }),
    );
    const env = {
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_SHA: merge,
      GITHUB_HEAD_REF: 'feature',
      GITHUB_BASE_REF: 'main',
      GITHUB_REF_NAME: '1/merge',
      GITHUB_ACTOR: 'author',
      GITHUB_TRIGGERING_ACTOR: 'rerunner',
    };
    // fetch-depth 0 (full clone) and fetch-depth 2 (a shallow clone of the merge commit, as actions/checkout does).
    const full = join(dir, 'full');
    execFileSync('git', ['clone', '-q', origin, full]);
    git(full, 'checkout', '-q', merge);
    const shallow = join(dir, 'shallow');
    execFileSync('git', ['init', '-q', shallow]);
    git(shallow, 'fetch', '-q', '--depth', '2', `file://${origin}`, 'refs/pull/1/merge');
    git(shallow, 'checkout', '-q', 'FETCH_HEAD');
    for (const cwd of [full, shallow]) {
      const c = collectContext({ cwd }, env);
      assert.deepEqual(c.warnings, [], cwd);
      assert.equal(c.request.head_sha, head, 'the PR head, not the merge commit');
      assert.deepEqual(
        [...(c.request.files ?? [])].sort(),
        ['one.ts', 'two.ts'],
        `${cwd}: the PR's changes, not main's`,
      );
      assert.equal(c.request.additions, 3);
      assert.equal(c.request.actor, 'author', "the run's actor (ingest stores run.actor), not who re-ran it");
    }
    // A shallow checkout of the PR head alone (fetch-depth 1) cannot diff: the warning says what to fetch.
    const lone = join(dir, 'lone');
    execFileSync('git', ['init', '-q', lone]);
    git(lone, 'fetch', '-q', '--depth', '1', `file://${origin}`, head);
    git(lone, 'checkout', '-q', 'FETCH_HEAD');
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(
      await runCheck(['--url', s.url, '--cwd', lone], env, { out: (l) => out.push(l), err: (l) => err.push(l) }),
      0,
    );
    assert.match(
      err.join('\n'),
      /^::notice::riskgate: no change information \(.*\); use actions\/checkout with fetch-depth: 2/m,
    );
    assert.equal(scorer.calls[0].head_sha, head);
    assert.equal(scorer.calls[0].actor, 'author');
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a warning built from a server answer is one escaped command on stderr', async () => {
  const { createServer } = await import('node:http');
  const srv = createServer((_req, res) =>
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'boom', message: 'line one\n::error::forged\n100%' })),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const err: string[] = [];
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    assert.equal(
      await runCheck(['--url', url, '--repo', 'a/b', '--no-diff'], {}, { out: () => {}, err: (l) => err.push(l) }),
      0,
    );
    const cmds = runnerCommands(err.join('\n'));
    assert.equal(cmds.length, 1);
    assert.equal(cmds[0].command, 'warning');
    assert.match(cmds[0].data, /line one\n::error::forged\n100%/);
  } finally {
    srv.close();
  }
});

test('credentials in the service URL never reach the log; a multi-line server variable stays one dotenv line', async () => {
  const { freePort } = await import('../support/net.ts');
  const { dotenvOf, formatDotenv } = await import('../../src/ci/outputs.ts');
  const port = await freePort();
  const err: string[] = [];
  assert.equal(
    await runCheck(
      ['--url', `http://ci-user:s3cret-pass@127.0.0.1:${port}`, '--repo', 'a/b', '--no-diff'],
      {},
      { out: () => {}, err: (l) => err.push(l) },
    ),
    0,
  );
  assert.match(err.join('\n'), /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/risk/);
  assert.doesNotMatch(err.join('\n'), /s3cret|ci-user/);
  const policy = standardPolicy();
  policy.strategy.env = { ...policy.strategy.env, NOTES: 'one\ntwo\r\nthree' };
  const text = formatDotenv(dotenvOf({ response: null, policy }));
  assert.match(text, /^NOTES=one; two; three$/m);
});
