import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A second `npm start` on a taken port used to stay up: it printed EADDRINUSE, ran its scheduler, took the
 * ingest job's lock and /v1/jobs named it owner. Now it must exit non-zero at once, before it opens the store.
 */
test(
  'riskgate serve on a busy port exits 1 naming the port, before it opens the store or starts the scheduler',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-busy-'));
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const env = {
        ...process.env,
        PORT: String(port),
        RISKGATE_DATA_DIR: join(dir, 'data'),
        RISKGATE_MODELS_DIR: join(dir, 'models'),
        RISKGATE_LOG_LEVEL: 'debug',
        // A scheduler that would ingest every minute if it were started (no network is reached: it must not start).
        GITHUB_TOKEN: 'ghp_not_a_real_token_000000000000',
        GITHUB_API_URL: 'http://127.0.0.1:9',
        RISKGATE_REPOS: 'acme/web',
        RISKGATE_INGEST_CRON: '* * * * *',
      };
      const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('close', (code) => resolve({ code, out }));
      });
      assert.equal(code, 1, out);
      assert.match(out, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      assert.doesNotMatch(out, /Unhandled|at .*\.ts:\d+/, 'a clean message, no stack trace');
      assert.doesNotMatch(out, /"msg":"(listening|ready|scheduler[^"]*|champion model available)"/, out);
      assert.equal(
        existsSync(join(dir, 'data', 'riskgate.db')),
        false,
        'the store was never opened, so no job lock was taken',
      );
      assert.equal(
        existsSync(join(dir, 'models')) && readdirSync(join(dir, 'models')).length > 0,
        false,
        'no first model was trained',
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
