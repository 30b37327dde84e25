import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/commands/serve.ts';
import { call, fixedScorer, silent, testConfig } from './helpers.ts';

test('startServer: listens on loopback without keys, /live at once, /ready after load, graceful shutdown finishes in-flight requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-serve-'));
  const base = fixedScorer(0.4);
  let release!: () => void;
  let arrived!: () => void;
  const arrivedP = new Promise<void>((r) => (arrived = r));
  const slow = {
    ...base,
    score: async (req: Parameters<typeof base.score>[0]) => (
      arrived(),
      await new Promise<void>((r) => (release = r)),
      base.score(req)
    ),
  };
  const running = await startServer(
    testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: join(dir, 'models') }),
    { logger: silent, scorer: slow },
  );
  try {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await call(running.url, 'GET', '/live')).status, 200);
    await running.loaded;
    assert.equal((await call(running.url, 'GET', '/ready')).status, 200);
    const inflight = call(running.url, 'POST', '/v1/risk', { repo: 'acme/web' });
    await arrivedP;
    const stopped = running.shutdown();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(fetch(`${running.url}/live`), 'no new connections while shutting down');
    release();
    const r = await inflight;
    assert.equal(r.status, 200, 'the in-flight request finished');
    await stopped;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'riskgate serve: bad configuration exits 2 naming the variable; SIGTERM stops it cleanly',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-serve-cli-'));
    const env = {
      ...process.env,
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_LOG_LEVEL: 'info',
    };
    const runCli = (extraEnv: Record<string, string>, onLine?: (line: string, kill: () => void) => void) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
          env: { ...env, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        const feed = (c: Buffer) => {
          out += c.toString();
          for (const line of c.toString().split('\n')) onLine?.(line, () => child.kill('SIGTERM'));
        };
        child.stdout.on('data', feed);
        child.stderr.on('data', feed);
        child.on('close', (code) => resolve({ code, out }));
      });
    try {
      const bad = await runCli({ RISKGATE_TIMEZONE: 'Nowhere/Land' });
      assert.equal(bad.code, 2);
      assert.match(bad.out, /RISKGATE_TIMEZONE/);
      let killed = false;
      const ok = await runCli({ PORT: '0' }, (line, kill) => {
        if (!killed && line.includes('"msg":"ready"')) {
          killed = true;
          kill();
        }
      });
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /listening on 127\.0\.0\.1 only/);
      assert.match(ok.out, /"msg":"stopped"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('startServer mounts the canary, models and dashboard routers behind authentication', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-serve-canary-'));
  const running = await startServer(
    testConfig({
      PORT: '0',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_API_KEYS: 'ci:score+report:ci-token-0123456789abcdef',
    }),
    { logger: silent, scorer: fixedScorer(0.3) },
  );
  try {
    await running.loaded;
    const auth = { authorization: 'Bearer ci-token-0123456789abcdef' };
    assert.equal((await call(running.url, 'POST', '/v1/canary/decision', {})).status, 401);
    const bad = await call(running.url, 'POST', '/v1/canary/decision', {}, auth);
    assert.equal(bad.status, 400, 'mounted: validation answers, not 404');
    assert.equal(bad.body.error, 'invalid_request');
    const shell = await call(running.url, 'GET', '/');
    assert.equal(shell.status, 200, 'the dashboard shell loads without a key');
    assert.equal((await call(running.url, 'GET', '/ui/api/overview')).status, 401, 'its data does not');
    assert.equal(
      (await call(running.url, 'GET', '/', undefined, { authorization: 'Bearer wrong-token-0123456789' })).status,
      401,
      'a wrong key is still rejected',
    );
    assert.equal((await call(running.url, 'GET', '/v1/models', undefined, auth)).status, 200, 'models router mounted');
    assert.equal((await call(running.url, 'GET', '/v1/models')).status, 401);
    const doc = (await call(running.url, 'GET', '/openapi.json')).body;
    assert.ok(
      Object.keys(doc.components.schemas).some((k) => k.startsWith('Canary')),
      'canary schemas documented',
    );
  } finally {
    await running.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
