/**
 * Issue 22.3: the README's plain-shell and GitLab CI snippets, run as written. Only the addresses change: the
 * bundle is served from 127.0.0.1 instead of raw.githubusercontent.com and the Riskgate URL is a live test
 * server. GitLab's part runs each job's `script` / `after_script` lines in bash with the CI_* variables GitLab
 * sets, and hands the `dotenv` report to the next job as GitLab does (NAME=value lines become variables).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedScorer, serveApp } from '../api/helpers.ts';

const README = readFileSync('README.md', 'utf8');
const CLIENT_URL = 'https://raw.githubusercontent.com/your-org/riskgate/main/action/dist/index.cjs';
const SERVICE_URL = 'https://riskgate.internal.example';
const KEY = 'docs-key-0123456789abcdef';

function block(after: string, lang: string): string {
  const at = README.indexOf(after);
  assert.ok(at >= 0, `README has "${after}"`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(README.slice(at));
  assert.ok(m, `a ${lang} block follows "${after}"`);
  return m[1];
}

function has(bin: string): boolean {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function bash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('close', (code) => done({ code, out, err }));
  });
}

async function fixtures(t: { skip(m: string): void }) {
  for (const bin of ['curl', 'git']) {
    if (!has(bin)) {
      if (process.env.CI === 'true') assert.fail(`${bin} is required in CI (Debian package: ${bin})`);
      t.skip(`${bin} is not installed (Debian package: ${bin})`);
      return null;
    }
  }
  const bundle = readFileSync('action/dist/index.cjs');
  const files: Server = createServer((req, res) =>
    req.url === '/index.cjs' ? res.end(bundle) : res.writeHead(404).end(),
  );
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  const clientUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/index.cjs`;
  const s = await serveApp({ scorer: fixedScorer(0.8), env: { RISKGATE_API_KEYS: `ci:score+report:${KEY}` } });
  const dir = mkdtempSync(join(tmpdir(), 'rg-docs-'));
  const git = (...a: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...a], { stdio: 'ignore' });
  execFileSync('git', ['init', '-q', dir]);
  writeFileSync(join(dir, 'a.ts'), '1\n');
  git('add', '.');
  git('commit', '-qm', 'one');
  writeFileSync(join(dir, 'package-lock.json'), '{}\n');
  git('add', '.');
  git('commit', '-qm', 'two');
  const fill = (text: string) => text.split(CLIENT_URL).join(clientUrl).split(SERVICE_URL).join(s.url);
  return {
    s,
    dir,
    fill,
    async close() {
      rmSync(dir, { recursive: true, force: true });
      files.close();
      await s.close();
    },
  };
}

test(
  'README plain-shell snippet: fetch the bundle with curl, check, read the outputs as variables, report',
  { timeout: 60_000 },
  async (t) => {
    const f = await fixtures(t);
    if (!f) return;
    try {
      writeFileSync(
        join(f.dir, 'build.sh'),
        '#!/bin/sh\necho "building with $RISKGATE_MAX_ATTEMPTS attempts"\nexit 1\n',
      );
      chmodSync(join(f.dir, 'build.sh'), 0o755);
      const snippet = f.fill(block('A plain shell', 'sh'));
      const r = await bash(snippet, f.dir, { RISKGATE_KEY: KEY });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^risk high: up to 4 attempts, strategy conservative$/m);
      assert.match(r.out, /^building with 4 attempts$/m, 'the variables reach the build');
      assert.match(r.out, /failure of acme\/web run build-\d+ attempt 1 recorded/);
      const env = Object.fromEntries(
        readFileSync(join(f.dir, 'riskgate.env'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      assert.equal(env.RISKGATE_RISK_LEVEL, 'high');
      assert.equal(env.EXTRA_RETRIES, 'true');
      assert.equal(JSON.parse(env.RISKGATE_POLICY).strategy.name, 'conservative');
      const runs = [...f.s.store.iterateRuns({ repo: 'acme/web' })];
      assert.equal(runs.length, 1);
      assert.equal(runs[0].conclusion, 'failure');
      assert.deepEqual(runs[0].files, ['package-lock.json']);
    } finally {
      await f.close();
    }
  },
);

/** The `- ` lines under `key:` of a job in the GitLab snippet. */
function jobLines(yaml: string, job: string, key: string): string[] {
  const body = new RegExp(`^${job}:\\n((?:  .*\\n)+)`, 'm').exec(yaml)?.[1] ?? '';
  const section = new RegExp(`^  ${key}:\\n((?:    - .*\\n)+)`, 'm').exec(body)?.[1] ?? '';
  return section
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^ {4}- /, ''));
}

test(
  'README GitLab CI snippet: the check job, its dotenv report in the next job, the outcome from after_script',
  { timeout: 60_000 },
  async (t) => {
    const f = await fixtures(t);
    if (!f) return;
    try {
      const yaml = block('GitLab CI (', 'yaml');
      const gitlab = {
        CI: 'true',
        GITLAB_CI: 'true',
        CI_PROJECT_PATH: 'acme/web',
        CI_COMMIT_SHA: execFileSync('git', ['-C', f.dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
        CI_COMMIT_REF_NAME: 'main',
        CI_PIPELINE_SOURCE: 'push',
        GITLAB_USER_LOGIN: 'dev1',
        CI_PIPELINE_ID: '777',
        RISKGATE_URL: f.s.url,
        RISKGATE_API_KEY: KEY,
      };
      const check = jobLines(yaml, 'riskgate', 'script');
      assert.equal(check.length, 2);
      const r1 = await bash(f.fill(check.join('\n')), f.dir, gitlab);
      assert.equal(r1.code, 0, r1.err);
      // GitLab's dotenv report: NAME=value lines, one variable each, for the jobs after this one.
      const dotenv = Object.fromEntries(
        readFileSync(join(f.dir, 'riskgate.env'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => {
            assert.match(l, /^[A-Za-z_][A-Za-z0-9_]*=.*$/, 'a dotenv line GitLab accepts');
            return [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)];
          }),
      );
      const r2 = await bash(f.fill(jobLines(yaml, 'build', 'script').join('\n')), f.dir, { ...gitlab, ...dotenv });
      assert.equal(r2.code, 0, r2.err);
      assert.match(r2.out, /^risk high, up to 4 attempts$/m);
      const after = jobLines(yaml, 'build', 'after_script');
      assert.equal(after.length, 1);
      const r3 = await bash(f.fill(after.join('\n')), f.dir, { ...gitlab, ...dotenv, CI_JOB_STATUS: 'failed' });
      assert.equal(r3.code, 0, r3.err);
      const run = f.s.store.getRun('acme/web', 'default', '777', 1);
      assert.equal(run?.conclusion, 'failure', "GitLab's failed is a failure");
      assert.equal(run?.actor, 'dev1');
      assert.ok(
        Object.keys(dotenv).length <= 50,
        `${Object.keys(dotenv).length} variables: GitLab takes at most 50 from a dotenv report`,
      );
    } finally {
      await f.close();
    }
  },
);
