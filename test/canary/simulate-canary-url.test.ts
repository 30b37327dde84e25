import { DEFAULT_CRON } from '../../src/config/background.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireScope } from '../../src/api/auth.ts';
import { createCanaryRouter } from '../../src/canary/router.ts';
import { run } from '../../src/commands/simulate-canary.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { call, serveApp, silent } from '../api/helpers.ts';

/**
 * `riskgate simulate-canary --url` against a server whose rate limit it exceeds (burst 5, then 2/s here;
 * the default burst of 100 failed the documented command with 429 at its 101st decision). It must wait out
 * each 429 and finish, and its rollouts must land under `simulated/…`, which the dashboard leaves out.
 */
test(
  'simulate-canary --url paces itself to the rate limit and keeps its rollouts apart',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-simcanary-'));
    const store = openStore(join(dir, 'riskgate.db'));
    const s = await serveApp({
      store,
      env: { RISKGATE_RATE_LIMIT: '120', RISKGATE_RATE_BURST: '5' },
      extraRouters: [
        createCanaryRouter({ store, log: silent }),
        createDashboardRouter({
          store,
          modelsDir: join(dir, 'models'),
          requireScope,
          authRequired: false,
          timezone: 'UTC',
          cron: DEFAULT_CRON,
        }),
      ],
    });
    const err: string[] = [];
    const out: string[] = [];
    const [log, error] = [console.log, console.error];
    console.log = (...a: unknown[]) => void out.push(a.join(' '));
    console.error = (...a: unknown[]) => void err.push(a.join(' '));
    let code: number;
    try {
      code = await run(['--url', s.url, '--per-kind', '1', '--interval-s', '1800', '--policies', 'riskgate', '--json']);
    } finally {
      console.log = log;
      console.error = error;
    }
    try {
      assert.equal(code, 0, err.join('\n'));
      const [summary] = JSON.parse(out.join('\n'));
      assert.equal(summary.bad_count + summary.good_count, 8, 'every release was rolled out to the end');
      assert.match(err.join('\n'), /rate-limited the run \d+ time\(s\); it waited each out/);
      const events = store.listEvents('canary_decision', { limit: 10_000 });
      assert.ok(events.length > 5, `more decisions than the burst (${events.length})`);
      assert.ok(
        events.every((e) => e.key.startsWith('simulated/')),
        [...new Set(events.map((e) => e.key))].join(','),
      );
      // The same client address: its bucket may still be empty, so these wait out a 429 too.
      const get = async (path: string) => {
        for (;;) {
          const r = await call(s.url, 'GET', path);
          if (r.status !== 429) return r;
          await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? 1)));
        }
      };
      const ui = await get('/ui/api/canary');
      assert.equal(ui.status, 200, JSON.stringify(ui.body));
      const body = ui.body as { services: string[]; decisions: unknown[]; hidden_simulated: number };
      assert.deepEqual(body.services, [], 'the dashboard leaves simulated rollouts out');
      assert.ok(body.hidden_simulated > 0);
      const asked = (await get('/ui/api/canary?service=simulated%2Fcanary')).body as { decisions: unknown[] };
      assert.ok(asked.decisions.length > 0, 'asked for by name, they are shown');
    } finally {
      await s.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
