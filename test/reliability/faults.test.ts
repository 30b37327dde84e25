import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { CircuitBreaker, CircuitOpenError } from '../../src/github/circuit.ts';
import { createGitHubClient } from '../../src/github/client.ts';
import { ingestRepo } from '../../src/github/ingest.ts';
import { Registry, sha256 } from '../../src/registry/registry.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { call, silent, testConfig } from '../api/helpers.ts';
import { randomHistory } from '../support/runs.ts';
import { generateRepo } from '../github/synthetic.ts';
import { startSyntheticServer } from '../github/replay-server.ts';

/**
 * Dependency faults while `startServer` serves: a model artifact altered on disk, GitHub down or hanging
 * during an ingest into the serving store, and Prometheus failing in ways other than "connection refused"
 * (that one is in test/canary/router.test.ts).
 */

const riskReq = (i: number) => ({
  repo: 'acme/web',
  head_branch: 'main',
  event: 'push',
  actor: `dev${i % 6}`,
  files: ['src/a.ts', `src/f${i % 40}.ts`],
  additions: i % 90,
  deletions: 2,
});

interface Load {
  stop(): Promise<{ n: number; failures: string[]; models: Set<string>; maxMs: number; degraded: number }>;
}

const active = new Set<() => void>();
/** Stops every load still running (a failed assertion must not leave clients looping). */
const haltLoads = () => {
  for (const halt of active) halt();
};

/** A steady stream of risk checks from `workers` concurrent clients, recording every answer. */
function riskLoad(url: string, workers = 4): Load {
  let running = true;
  const halt = () => void (running = false);
  active.add(halt);
  const failures: string[] = [];
  const models = new Set<string>();
  let n = 0;
  let maxMs = 0;
  let degraded = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const t0 = performance.now();
      try {
        const r = await call(url, 'POST', '/v1/risk', riskReq(w * 10_000 + i));
        if (r.status !== 200) failures.push(`${r.status} ${r.text.slice(0, 200)}`);
        else {
          models.add(r.body.model?.id ?? 'none');
          if (r.body.degraded) degraded++;
        }
      } catch (err) {
        failures.push((err as Error).message);
      }
      maxMs = Math.max(maxMs, performance.now() - t0);
      n++;
    }
  });
  return {
    async stop() {
      running = false;
      active.delete(halt);
      await Promise.all(loops);
      return { n, failures, models, maxMs, degraded };
    },
  };
}

async function serveWithModels(extraEnv: Record<string, string> = {}): Promise<{
  dir: string;
  store: Store;
  running: RunningServer;
  modelsDir: string;
  champion: string;
  challenger: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-faults-'));
  const store = openStore(join(dir, 'riskgate.db'));
  store.upsertRuns(randomHistory(21, 300));
  const modelsDir = join(dir, 'models');
  const champion = (await trainFromStore({ store, modelsDir, kinds: ['gbdt'] })).manifest.id;
  const challenger = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest.id;
  const running = await startServer(
    testConfig({
      PORT: '0',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: modelsDir,
      RISKGATE_RATE_LIMIT: '1000000',
      RISKGATE_RATE_BURST: '100000',
      ...extraEnv,
    }),
    {
      logger: silent,
      store,
      bootstrap: false,
    },
  );
  await running.loaded;
  return { dir, store, running, modelsDir, champion, challenger };
}

/** Changes one digit inside the artifact: still valid JSON of the same length, so only the sha256 can tell. */
function tamper(file: string): void {
  const text = readFileSync(file, 'utf8');
  const i = text.search(/[1-8]/);
  assert.ok(i >= 0);
  writeFileSync(file, text.slice(0, i) + String(Number(text[i]) + 1) + text.slice(i + 1));
  JSON.parse(readFileSync(file, 'utf8'));
}

test(
  'a model artifact altered on disk while serving is refused by sha256; the old model keeps answering, no request fails',
  { timeout: 30_000 },
  async () => {
    const { dir, store, running, modelsDir, champion, challenger } = await serveWithModels();
    const url = running.url;
    const registry = new Registry(modelsDir);
    try {
      const load = riskLoad(url);
      await new Promise((r) => setTimeout(r, 200));

      // 1. The challenger's bytes change; promoting it over HTTP is refused and nothing moves.
      const challengerFile = join(modelsDir, challenger, 'model.json');
      const good = readFileSync(challengerFile);
      tamper(challengerFile);
      assert.notEqual(sha256(readFileSync(challengerFile)), registry.manifest(challenger)!.sha256);
      const promote = await call(url, 'POST', `/v1/models/${challenger}/promote`, { reason: 'try the tampered one' });
      assert.equal(promote.status, 409, JSON.stringify(promote.body));
      assert.match(promote.body.message, /sha256/);
      assert.equal(registry.championId(), champion);

      // 2. Someone points the champion file at the tampered version behind the registry's back: the watcher
      //    (every 2 s) refuses to load it and the old model stays in service.
      writeFileSync(join(modelsDir, 'champion'), challenger + '\n');
      await new Promise((r) => setTimeout(r, 2600));
      const mid = await call(url, 'GET', '/health');
      assert.equal(mid.body.model.id, champion, 'the verified model is still loaded');
      assert.equal(mid.body.status, 'ok');

      // 3. The serving champion's own artifact is altered in place: the verified copy in memory keeps answering.
      tamper(join(modelsDir, champion, 'model.json'));
      writeFileSync(join(modelsDir, 'champion'), champion + '\n');
      await new Promise((r) => setTimeout(r, 300));

      const res = await load.stop();
      assert.deepEqual(res.failures, [], 'no request failed');
      assert.ok(res.n > 100, `load ran (${res.n} requests)`);
      assert.deepEqual([...res.models], [champion], 'only the verified champion answered');
      assert.equal(res.degraded, 0);

      // Restored bytes verify again, and the promotion then goes through.
      writeFileSync(challengerFile, good);
      const ok = await call(url, 'POST', `/v1/models/${challenger}/promote`, { reason: 'bytes restored' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal((await call(url, 'POST', '/v1/risk', riskReq(1))).body.model.id, challenger);
    } finally {
      haltLoads();
      await running.shutdown();
      store.close();
    }

    // A restart on the altered champion never serves those bytes: the fallback answers, degraded, and says so.
    const store2 = openStore(join(dir, 'riskgate.db'));
    writeFileSync(join(modelsDir, 'champion'), champion + '\n');
    const again = await startServer(testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: modelsDir }), {
      logger: silent,
      store: store2,
      bootstrap: false,
    });
    try {
      await again.loaded;
      const r = await call(again.url, 'POST', '/v1/risk', riskReq(2));
      assert.equal(r.status, 200);
      assert.notEqual(r.body.model?.id, champion);
      assert.equal(r.body.degraded, true);
      assert.equal((await call(again.url, 'GET', '/health')).body.status, 'degraded');
    } finally {
      await again.shutdown();
      store2.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'GitHub down (5xx) or hanging during an ingest into the serving store: the circuit opens, /health says so, risk checks are unaffected',
  { timeout: 30_000 },
  async () => {
    const { dir, store, running, champion } = await serveWithModels();
    const url = running.url;
    let mode: 'down' | 'hang' = 'down';
    let hits = 0;
    const hung: ServerResponse[] = [];
    const github: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      hits++;
      if (mode === 'hang') return void hung.push(res);
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"message":"Server Error"}');
    });
    await new Promise<void>((r) => github.listen(0, '127.0.0.1', r));
    const ghUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
    const synthetic = await startSyntheticServer(
      generateRepo({ runs: 60, commits: 20, end: Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000, seed: 5 }),
    );
    try {
      // Baseline latency with no ingest running.
      const calm = riskLoad(url);
      await new Promise((r) => setTimeout(r, 400));
      const base = await calm.stop();
      assert.deepEqual(base.failures, []);
      assert.equal((await call(url, 'GET', '/health')).body.dependencies, undefined, 'no GitHub circuit yet');

      const load = riskLoad(url);
      // GitHub answers 502: each ingest tick fails after its retries; the third consecutive failure opens the circuit.
      const tick = (o: { timeoutMs?: number; cooldownMs?: number; base?: string } = {}) =>
        ingestRepo({
          client: createGitHubClient({
            baseUrl: o.base ?? ghUrl,
            token: 't',
            retries: 1,
            retryBaseMs: 5,
            requestTimeoutMs: o.timeoutMs,
            circuit: new CircuitBreaker({
              name: 'github',
              store,
              failureThreshold: 3,
              cooldownMs: o.cooldownMs ?? 60_000,
            }),
          }),
          store,
          repo: 'acme/widgets',
        });
      for (let i = 0; i < 3; i++) await assert.rejects(tick(), (e: { status?: number }) => e.status === 502);
      const hitsWhenOpen = hits;
      await assert.rejects(tick(), CircuitOpenError, 'an open circuit refuses the call');
      assert.equal(hits, hitsWhenOpen, 'no request reached GitHub while the circuit is open');
      const h = await call(url, 'GET', '/health');
      assert.equal(h.status, 200);
      assert.equal(h.body.dependencies.github.healthy, false);
      assert.equal(h.body.dependencies.github.state, 'open');
      assert.equal(h.body.dependencies.github.consecutive_failures, 3);
      assert.equal(h.body.status, 'ok', 'GitHub being down does not stop risk checks');
      const viaApi = await call(url, 'GET', '/v1/circuits/github');
      assert.equal(viaApi.body.state, 'open');

      // GitHub accepts connections and never answers: each attempt times out, which counts as a failure too.
      mode = 'hang';
      store.putCircuit({
        name: 'github',
        state: 'closed',
        consecutive_failures: 0,
        opened_at: null,
        trial_at: null,
        updated_at: Date.now(),
      });
      assert.equal((await call(url, 'GET', '/health')).body.dependencies.github.healthy, true);
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) await assert.rejects(tick({ timeoutMs: 300 }));
      const hangMs = performance.now() - t0;
      assert.ok(hung.length >= 6, `the hanging server was asked (${hung.length})`);
      assert.ok(hangMs < 6000, `each attempt gave up after its timeout (${hangMs.toFixed(0)} ms for 3 ticks)`);
      const hh = await call(url, 'GET', '/health');
      assert.equal(hh.body.dependencies.github.state, 'open');
      assert.equal(hh.body.dependencies.github.healthy, false);

      const during = await load.stop();
      assert.deepEqual(during.failures, [], 'every risk check during the outage was answered');
      assert.ok(during.n > 100, `load ran (${during.n})`);
      assert.deepEqual([...during.models], [champion]);
      assert.ok(
        during.maxMs < Math.max(500, base.maxMs * 5),
        `risk latency unaffected: max ${during.maxMs.toFixed(0)} ms (calm max ${base.maxMs.toFixed(0)} ms)`,
      );

      // GitHub is back: after the cooldown one trial goes out, succeeds, and the circuit closes.
      await new Promise((r) => setTimeout(r, 60));
      const sum = await tick({ base: synthetic.url, cooldownMs: 50 });
      assert.equal(sum.complete, true);
      assert.ok(sum.inserted > 0);
      const back = await call(url, 'GET', '/health');
      assert.equal(back.body.dependencies.github.healthy, true);
      assert.equal(back.body.dependencies.github.state, 'closed');
      const r = await call(url, 'POST', '/v1/risk', { ...riskReq(3), repo: 'acme/widgets' });
      assert.equal(r.status, 200, 'the ingested repo is scored');
    } finally {
      haltLoads();
      github.closeAllConnections();
      await new Promise((r) => github.close(r));
      await synthetic.close();
      await running.shutdown();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'Prometheus failing (5xx page, query error on one side, hanging) → hold with the reason, never promote',
  { timeout: 30_000 },
  async () => {
    type Mode = 'ok' | 'html503' | 'baseline-error' | 'hang';
    let mode = 'ok' as Mode;
    const prom = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const q = new URLSearchParams(body).get('query') ?? '';
        if (mode === 'hang') return;
        if (mode === 'html503')
          return void (
            res.writeHead(503, { 'content-type': 'text/html' }),
            res.end('<html>Service Unavailable</html>')
          );
        if (mode === 'baseline-error' && q.includes('baseline')) {
          return void (
            res.writeHead(422, { 'content-type': 'application/json' }),
            res.end('{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}')
          );
        }
        const now = Math.floor(Date.now() / 1000);
        const values = Array.from({ length: 120 }, (_, i) => [
          now - 120 + i,
          String(0.01 + ((i * 7919) % 13) / 10_000),
        ]);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values }] } }),
        );
      });
    });
    await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
    const promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'rg-prom-'));
    const store = openStore(join(dir, 'riskgate.db'));
    const running = await startServer(
      testConfig({
        PORT: '0',
        RISKGATE_DATA_DIR: dir,
        RISKGATE_MODELS_DIR: join(dir, 'models'),
        RISKGATE_PROMETHEUS_URL: promUrl,
      }),
      { logger: silent, store, bootstrap: false },
    );
    try {
      await running.loaded;
      // The last step of a long, risk-free rollout: with healthy data it would go all the way.
      const ask = (version: string) =>
        call(running.url, 'POST', '/v1/canary/decision', {
          deployment: { service: 'web', version },
          current_weight: 80,
          elapsed_s: 7200,
          risk: 0,
          metrics: [
            {
              name: 'error_rate',
              direction: 'increase',
              critical: true,
              query: { canary: 'rate(errors{track="canary"}[1m])', baseline: 'rate(errors{track="baseline"}[1m])' },
            },
          ],
        });
      const control = await ask('v-control');
      assert.equal(control.status, 200, JSON.stringify(control.body));
      assert.notEqual(
        control.body.action,
        'hold',
        `with Prometheus answering, the rollout moves on (${control.body.action}: ${control.body.reasons?.join('; ')})`,
      );

      const cases: [Mode, RegExp][] = [
        ['html503', /non-JSON|503/],
        ['baseline-error', /query timed out in expression evaluation/],
        ['hang', /timed out/],
      ];
      for (const [m, reason] of cases) {
        mode = m;
        const t0 = performance.now();
        const r = await ask(`v-${m}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.action, 'hold', `${m}: ${r.body.action}`);
        assert.equal(r.body.next_weight, 80, `${m}: the weight stays`);
        assert.match(r.body.reasons.join(' '), reason, `${m}: ${r.body.reasons.join(' | ')}`);
        if (m === ('hang' as Mode)) assert.ok(performance.now() - t0 < 8000, 'a hanging Prometheus is given up on');
      }
    } finally {
      prom.closeAllConnections();
      await new Promise((r) => prom.close(r));
      await running.shutdown();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
