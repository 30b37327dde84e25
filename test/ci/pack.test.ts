/**
 * Issue 15.1: the package as a consumer gets it. `npm pack` (prepack compiles dist/), then `npm install` of the
 * tarball in an empty folder, then `npx riskgate --help` and `npx riskgate check` against a live server, all
 * through the `node_modules/.bin/riskgate` link that used to print nothing and exit 0.
 *
 * Tests may not reach the registry, so the consumer's install is `--offline`: npm takes every tarball from its
 * cache (CI's `npm ci` has just filled it) by the versions our own package-lock.json resolved, written into the
 * consumer's lockfile — the consumer itself has no overrides. Install scripts are off (npm 11 runs none that the
 * consumer has not approved anyway), so better-sqlite3 is not compiled: `check` must not need it.
 * A resolution from the live registry was run by hand (see the commit message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixedScorer, serveApp } from '../api/helpers.ts';

const ROOT = resolve('.');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    // npm's own update check and funding notes would reach the network / clutter the output.
    const child = spawn(cmd, args, {
      cwd,
      env: {
        ...process.env,
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
        ...env,
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('close', (code) => done({ code, out, err }));
  });
}

/** The consumer's lockfile: riskgate from the tarball, its production tree as our package-lock.json resolved it. */
function consumerLock(tgz: string, tgzName: string): object {
  const ours = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, Record<string, unknown>>;
  };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: object;
  };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { riskgate: `file:${tgzName}` } },
    'node_modules/riskgate': {
      version: pkg.version,
      resolved: `file:${tgzName}`,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`,
      license: 'MIT',
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(ours.packages)) if (k.startsWith('node_modules/') && !v.dev) packages[k] = v;
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

test(
  'npm pack, install the tarball in an empty consumer, npx riskgate --help and check',
  { timeout: 300_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-pack-'));
    const s = await serveApp({ scorer: fixedScorer(0.8) });
    try {
      // Pack a copy, so the build does not race anything reading this checkout's dist/.
      const src = join(dir, 'src-copy');
      mkdirSync(src);
      for (const f of [
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        'tsconfig.build.json',
        'README.md',
        'bin',
        'src',
        'training',
        'scripts',
      ])
        cpSync(join(ROOT, f), join(src, f), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir');
      const pack = await run(NPM, ['pack', '--json', '--pack-destination', dir], src);
      assert.equal(pack.code, 0, pack.err);
      const [{ filename, files }] = JSON.parse(pack.out) as [{ filename: string; files: { path: string }[] }];
      const paths = files.map((f) => f.path);
      assert.ok(
        paths.includes('dist/src/cli.js') &&
          paths.includes('dist/src/ml/histogram-worker.js') &&
          paths.includes('dist/src/dashboard/bundle.json'),
        'compiled JavaScript ships',
      );
      assert.ok(
        !paths.some((p) => p.endsWith('.ts')),
        `no TypeScript ships: ${paths.filter((p) => p.endsWith('.ts')).join(', ')}`,
      );

      const consumer = join(dir, 'consumer');
      mkdirSync(consumer);
      writeFileSync(
        join(consumer, 'package.json'),
        JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
      );
      writeFileSync(
        join(consumer, 'package-lock.json'),
        JSON.stringify(consumerLock(join(dir, filename), `../${filename}`), null, 2),
      );
      const install = await run(NPM, ['install', '--offline', '--ignore-scripts', `../${filename}`], consumer);
      if (install.code !== 0 && /ENOTCACHED/.test(install.err)) {
        // Only a cache without the production tarballs gets here (CI runs `npm ci` first, which fills it).
        if (process.env.CI === 'true')
          assert.fail(`npm cache lacks a production tarball (run npm ci first): ${install.err.slice(0, 400)}`);
        return t.skip(
          `npm cache lacks a production tarball and tests stay offline: ${/request to (\S+)/.exec(install.err)?.[1] ?? install.err.slice(0, 200)}`,
        );
      }
      assert.equal(install.code, 0, install.err);
      assert.ok(readdirSync(join(consumer, 'node_modules', '.bin')).includes('riskgate'));
      assert.ok(
        !readdirSync(join(consumer, 'node_modules')).includes('tsx'),
        'tsx (a devDependency) is not installed for consumers',
      );

      const help = await run(NPM, ['exec', '--offline', '--', 'riskgate', '--help'], consumer);
      assert.equal(help.code, 0, help.err);
      assert.match(help.out, /^Usage: riskgate <command>/m);
      assert.match(help.out, /check\s+Pre-build risk check/);
      const checkHelp = await run(join(consumer, 'node_modules', '.bin', 'riskgate'), ['check', '--help'], consumer);
      assert.match(checkHelp.out, /--report-outcome STATUS/);

      const out = join(consumer, 'github-output');
      writeFileSync(out, '');
      const check = await run(
        NPM,
        [
          'exec',
          '--offline',
          '--',
          'riskgate',
          'check',
          '--url',
          s.url,
          '--repo',
          'acme/web',
          '--no-diff',
          '--files-changed',
          '3',
        ],
        consumer,
        { GITHUB_OUTPUT: out },
      );
      assert.equal(check.code, 0, check.err);
      assert.match(check.out, /risk high \(p=0\.800\)/);
      assert.match(readFileSync(out, 'utf8'), /^risk_level=high$/m);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
