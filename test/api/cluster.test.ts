import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/net.ts';

const GRACE_S = 3;

interface Answer {
  status: number;
  worker: string;
  body: Record<string, unknown>;
}

/** One request on a fresh connection, so the cluster's round robin can hand it to any worker. */
function call(port: number, method: string, path: string, body?: unknown): Promise<Answer> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            worker: String(res.headers['x-riskgate-worker'] ?? ''),
            body: text ? JSON.parse(text) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    // node:cluster loses a connection it hands to a worker in the instant that worker dies; don't wait on it forever.
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.end(data);
  });
}

/** Calls until answers from `n` distinct workers are in (round robin makes that quick); returns them by pid. */
async function fromEachWorker(n: number, ask: () => Promise<Answer>, tries = 40): Promise<Map<string, Answer>> {
  const seen = new Map<string, Answer>();
  for (let i = 0; i < tries && seen.size < n; i++) {
    const a = await ask();
    if (a.worker && !seen.has(a.worker)) seen.set(a.worker, a);
  }
  return seen;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startCluster(
  dir: string,
  port: number,
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      RISKGATE_WORKERS: '2',
      RISKGATE_DATA_DIR: join(dir, 'data'),
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_LOG_LEVEL: 'info',
      RISKGATE_SHUTDOWN_GRACE_S: String(GRACE_S),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function waitReady(port: number, workers: number, deadline: number): Promise<Set<string>> {
  while (Date.now() < deadline) {
    const ready = await fromEachWorker(
      workers,
      () => call(port, 'GET', '/ready').catch(() => ({ status: 0, worker: '', body: {} })),
      10,
    );
    if (ready.size >= workers && [...ready.values()].every((a) => a.status === 200)) return new Set(ready.keys());
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('cluster did not become ready');
}

const outcome = (repo: string, i: number, at: number) => ({
  repo,
  run_id: `cluster-${i}`,
  created_at: new Date(at - 60 * 60_000 + i * 60_000).toISOString(),
  run_started_at: new Date(at - 60 * 60_000 + i * 60_000 + 5_000).toISOString(),
  completed_at: new Date(at - 60 * 60_000 + i * 60_000 + 300_000).toISOString(),
  workflow: 'ci',
  head_branch: 'main',
  event: 'push',
  actor: 'dev-1',
  conclusion: 'failure',
});

test(
  'RISKGATE_WORKERS=2: two workers serve one port, outcomes reach every worker, one bootstrap, crash restart, SIGTERM exits 0',
  { timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-cluster-'));
    const port = await freePort();
    const { child, output, exit } = startCluster(dir, port);
    try {
      let pids = await waitReady(port, 2, Date.now() + 45_000);
      assert.equal(pids.size, 2, 'answers came from two worker pids');
      assert.ok(!pids.has(String(child.pid)), 'the primary itself does not serve');
      assert.equal(
        output().match(/"msg":"first model trained"/g)?.length,
        1,
        'the first model was trained once, by the primary',
      );
      assert.equal(readdirSync(join(dir, 'models')).filter((f) => f.startsWith('gbdt-')).length, 1);

      // Each worker caches this repo's (empty) history first, so the outcome must invalidate both caches.
      const repo = 'cluster/feedback';
      const risk = () =>
        call(port, 'POST', '/v1/risk', {
          repo,
          head_branch: 'main',
          event: 'push',
          actor: 'dev-1',
          workflow: 'ci',
          head_sha: 'abc123',
        });
      const before = await fromEachWorker(2, risk);
      assert.equal(before.size, 2);
      const p0 = [...before.values()].map((a) => a.body.probability as number);
      assert.ok(
        p0.every((p) => p === p0[0]),
        `workers agree before the outcomes: ${p0}`,
      );

      const now = Date.now();
      const posted = await call(port, 'POST', '/v1/outcomes', {
        runs: Array.from({ length: 12 }, (_, i) => outcome(repo, i, now)),
      });
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      const after = await fromEachWorker(2, risk);
      assert.equal(after.size, 2);
      for (const [pid, a] of after) {
        assert.ok(
          (a.body.probability as number) > p0[0],
          `worker ${pid}${pid === posted.worker ? ' (wrote)' : ' (other process)'}: ${a.body.probability} > ${p0[0]} after 12 failures`,
        );
      }

      // The canary router finds the commit's risk whichever worker answered its /v1/risk (shared in ~50 ms).
      const once = await call(port, 'POST', '/v1/risk', { repo, head_sha: 'def456' });
      assert.equal(once.status, 200);
      await new Promise((r) => setTimeout(r, 300));
      const decisionBody = (v: string) => ({
        deployment: { service: 'web', version: v, repo, head_sha: 'def456' },
        current_weight: 10,
        elapsed_s: 300,
        metrics: [
          { name: 'latency', baseline: [10, 11, 12, 10, 11, 12, 10, 11], canary: [10, 11, 12, 11, 10, 12, 11, 10] },
        ],
      });
      const decisions = await fromEachWorker(2, () =>
        call(port, 'POST', '/v1/canary/decision', decisionBody(`v${Math.random()}`)),
      );
      assert.equal(decisions.size, 2);
      for (const [pid, d] of decisions) {
        assert.equal(
          d.body.risk_source,
          'model',
          `worker ${pid}${pid === once.worker ? '' : ' (not the one that scored)'} knew the risk`,
        );
        assert.equal(d.body.risk, once.body.probability);
      }

      // A crashed worker is replaced on the same port.
      const victim = Number([...pids][0]);
      process.kill(victim, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      while (!/worker died; starting a new one/.test(output()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      while (Date.now() < deadline) {
        pids = await waitReady(port, 2, deadline);
        if (!pids.has(String(victim))) break;
      }
      assert.ok(!pids.has(String(victim)) && pids.size === 2, `a new worker replaced ${victim}: ${[...pids]}`);

      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await exit;
      assert.equal(code, 0, output().slice(-2000));
      assert.ok(
        Date.now() - t0 < GRACE_S * 1000,
        `stopped within the ${GRACE_S}s grace period (${Date.now() - t0} ms)`,
      );
      for (const pid of pids) assert.ok(!alive(Number(pid)), `worker ${pid} is gone`);
      assert.equal(output().match(/"msg":"stopped"/g)?.length, 3, 'both workers and the primary stopped cleanly');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'riskgate serve: a bad RISKGATE_WORKERS or --workers exits 2 naming the variable; workers that cannot listen stop the cluster with 1',
  { timeout: 30_000 },
  async () => {
    const runCli = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap', ...args], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c) => (out += c));
        child.stderr.on('data', (c) => (out += c));
        child.on('close', (code) => resolve({ code, out }));
      });
    for (const [args, env] of [
      [[], { RISKGATE_WORKERS: 'lots' }],
      [['--workers', '0'], {}],
    ] as const) {
      const r = await runCli([...args], env);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /RISKGATE_WORKERS/);
    }
    const dir = mkdtempSync(join(tmpdir(), 'rg-cluster-taken-'));
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const r = await runCli(['--workers', '2'], {
        PORT: port,
        RISKGATE_DATA_DIR: join(dir, 'data'),
        RISKGATE_MODELS_DIR: join(dir, 'models'),
      });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
      assert.match(r.out, /worker failed to start; stopping the cluster/);
      // No background work before a worker listens: no job ran and no job lock was taken (issue 17.2).
      assert.doesNotMatch(r.out, /scheduler started/);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
