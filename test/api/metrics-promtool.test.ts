/**
 * `promtool check metrics` — the linter operators run on exposition output — passes on what the full
 * server (startServer, default metrics on) serves at /metrics. It exited 3 before: prom-client's
 * `nodejs_active_*_total` are gauges, and promtool says non-counter metrics must not end in `_total`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../../src/commands/serve.ts';
import { fixedScorer, silent, testConfig } from './helpers.ts';
import { PROMTOOL, requireBinary } from '../support/prometheus.ts';

test('promtool check metrics accepts /metrics of the running server', async (t) => {
  if (!requireBinary(t, PROMTOOL)) return;
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-promtool-'));
  const running = await startServer(
    testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: join(dir, 'models') }),
    { logger: silent, bootstrap: false, scorer: fixedScorer(0.4) },
  );
  try {
    await running.loaded;
    // Traffic first, so labelled series (requests, latency, predictions) are in the output too.
    await fetch(`${running.url}/v1/risk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'acme/web' }),
    });
    await fetch(`${running.url}/nope`);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    assert.match(text, /riskgate_http_requests_total\{/);
    assert.match(text, /riskgate_nodejs_active_handles\{/, 'the per-type gauges stay');
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  } finally {
    await running.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
