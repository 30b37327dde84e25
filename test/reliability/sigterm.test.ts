import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/sqlite.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory } from '../support/runs.ts';

/**
 * SIGTERM to a real `riskgate serve` under a steady stream of risk checks plus slow in-flight requests.
 * Every request is sent with `Expect: 100-continue`, so the server's "100 Continue" proves it accepted and
 * parsed the request; the slow ones then trickle their bodies across the signal. Every request accepted
 * before the signal must get a complete 2xx answer, a new connection after it must be refused, and the
 * process must exit 0 within the grace period (also when a client never finishes its request).
 */

interface Sent {
  path: string;
  startedAt: number;
  /** When the server's 100 Continue arrived (it had parsed the request), or null. */
  acceptedAt: number | null;
  doneAt: number | null;
  status: number | null;
  body: any;
  error: string | null;
}

function send(port: number, path: string, payload: unknown, o: { trickleMs?: number; never?: boolean } = {}): { sent: Sent; done: Promise<Sent> } {
  const body = Buffer.from(JSON.stringify(payload));
  const sent: Sent = { path, startedAt: performance.now(), acceptedAt: null, doneAt: null, status: null, body: null, error: null };
  const done = new Promise<Sent>((resolve) => {
    const finish = (error: string | null) => {
      if (sent.doneAt != null) return;
      sent.doneAt = performance.now();
      sent.error = error;
      resolve(sent);
    };
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(`response: ${e.message}`));
        res.on('end', () => {
          sent.status = res.statusCode ?? null;
          try {
            sent.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            finish(null);
          } catch {
            finish(`incomplete body (${Buffer.concat(chunks).length} bytes)`);
          }
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    req.on('continue', () => {
      sent.acceptedAt = performance.now();
      if (o.never) return void req.write(body.subarray(0, 10));
      if (!o.trickleMs) return void req.end(body);
      // Ten slices spread over trickleMs: the request stays in flight that long.
      const n = 10;
      let i = 0;
      const step = () => {
        const slice = body.subarray(Math.floor((i * body.length) / n), Math.floor(((i + 1) * body.length) / n));
        i++;
        if (i < n) (req.write(slice), setTimeout(step, o.trickleMs! / n));
        else req.end(slice);
      };
      step();
    });
  });
  return { sent, done };
}

function connectRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/live', agent: false }, (res) => {
      res.resume();
      resolve(`answered ${res.statusCode}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

async function startServe(dir: string, graceS: number): Promise<{ child: ChildProcess; port: number; exit: Promise<{ code: number | null; at: number }>; out: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
    env: { ...process.env, PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: join(dir, 'models'), RISKGATE_SHUTDOWN_GRACE_S: String(graceS), RISKGATE_LOG_LEVEL: 'info', RISKGATE_RATE_LIMIT: '1000000', RISKGATE_RATE_BURST: '100000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exit = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: performance.now() })));
  const port = await new Promise<number>((resolve, reject) => {
    let url: string | null = null;
    const onData = (c: Buffer) => {
      out += c.toString();
      url ??= /"msg":"listening"/.test(out) ? (/"url":"(http:\/\/127\.0\.0\.1:(\d+))"/.exec(out)?.[1] ?? null) : null;
      if (url && /"msg":"ready"/.test(out)) resolve(Number(new URL(url).port));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then(({ code }) => reject(new Error(`serve exited (${code}) before it was ready:\n${out}`)));
  });
  return { child, port, exit, out: () => out };
}

const risk = (i: number) => ({ repo: 'acme/web', head_branch: 'main', event: 'push', actor: `dev${i % 5}`, files: ['src/a.ts', `src/f${i}.ts`], additions: i % 50, deletions: 1 });
const bigBatch = () => ({
  runs: Array.from({ length: 1000 }, (_, i) => ({
    repo: 'acme/big',
    run_id: i,
    created_at: new Date(Date.parse('2024-03-01T00:00:00Z') + i * 60_000).toISOString(),
    completed_at: new Date(Date.parse('2024-03-01T00:00:00Z') + i * 60_000 + 40_000).toISOString(),
    conclusion: i % 3 ? 'success' : 'failure',
    files: Array.from({ length: 6 }, (_, k) => `packages/p${k}/src/module-${i}.ts`),
  })),
});

test('SIGTERM under load: accepted requests all finish 2xx, new connections are refused, exit 0 within the grace period', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sigterm-'));
  try {
    // A small real champion, so the risk checks go through the model and the history cache.
    const seed = openStore(join(dir, 'riskgate.db'));
    seed.upsertRuns(randomHistory(8, 200));
    await trainFromStore({ store: seed, modelsDir: join(dir, 'models'), kinds: ['gbdt'] });
    seed.close();

    const GRACE_S = 4;
    const srv = await startServe(dir, GRACE_S);
    const all: Promise<Sent>[] = [];
    let stop = false;
    let refusedInStream = 0;
    const workers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const { done } = send(srv.port, '/v1/risk', risk(w * 1000 + i));
        all.push(done);
        const r = await done;
        if (r.error === 'ECONNREFUSED') (refusedInStream++, await new Promise((res) => setTimeout(res, 25)));
      }
    });
    await new Promise((r) => setTimeout(r, 600));

    // Slow, honest in-flight work: a 1,000-run outcomes batch and risk checks whose bodies arrive over 1.2 s.
    const slow = [send(srv.port, '/v1/outcomes', bigBatch(), { trickleMs: 1200 }), send(srv.port, '/v1/risk', risk(1), { trickleMs: 1000 }), send(srv.port, '/v1/risk', risk(2), { trickleMs: 1200 })];
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(slow.every((s) => s.sent.acceptedAt != null), 'the slow requests were accepted before the signal');

    const signalAt = performance.now();
    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const probe = await connectRefused(srv.port);
    assert.equal(slow.filter((s) => s.sent.doneAt == null).length, 3, JSON.stringify(slow.map((s) => [s.sent.error, s.sent.status, s.sent.doneAt! - signalAt])) + 'the slow requests are still in flight when the new connection is tried');
    assert.equal(probe, 'ECONNREFUSED', 'a new connection after the signal is refused');

    const results = await Promise.all(slow.map((s) => s.done));
    const exit = await srv.exit;
    stop = true;
    await Promise.all(workers);
    const stream = await Promise.all(all);

    assert.equal(exit.code, 0, srv.out());
    const exitMs = exit.at - signalAt;
    assert.ok(exitMs < GRACE_S * 1000, `exited ${exitMs.toFixed(0)} ms after SIGTERM (grace ${GRACE_S} s)`);
    assert.match(srv.out(), /"msg":"stopped"/);

    for (const r of results) {
      assert.equal(r.error, null, `${r.path}: ${r.error}`);
      assert.ok(r.doneAt! > signalAt, 'finished after the signal (it was in flight)');
      assert.equal(r.status, 200, `${r.path}: ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual(results[0].body, { inserted: 1000, updated: 0, unchanged: 0 });
    assert.ok(typeof results[1].body.probability === 'number' && results[1].body.degraded === false);

    const acceptedBefore = stream.filter((r) => r.acceptedAt != null && r.acceptedAt < signalAt);
    const inFlightAtSignal = acceptedBefore.filter((r) => r.doneAt! > signalAt);
    assert.ok(acceptedBefore.length >= 50, `a steady stream ran before the signal (${acceptedBefore.length} accepted)`);
    for (const r of acceptedBefore) {
      assert.equal(r.error, null, `accepted at ${(r.acceptedAt! - signalAt).toFixed(1)} ms: ${r.error}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(typeof r.body.probability, 'number');
      assert.equal(r.body.model?.kind, 'gbdt');
    }
    assert.ok(refusedInStream > 0);
    const after = stream.filter((r) => r.startedAt > signalAt + 300);
    assert.ok(after.length > 0 && after.every((r) => r.error === 'ECONNREFUSED'), `requests started after the listener closed are refused (${after.map((r) => r.error).join(',')})`);
    // Informational: how many stream requests were caught mid-flight by the signal.
    process.stdout.write(`# stream: ${acceptedBefore.length} accepted before SIGTERM, ${inFlightAtSignal.length} in flight at it; exit after ${exitMs.toFixed(0)} ms\n`);

    const store = new Database(join(dir, 'riskgate.db'), { readonly: true });
    assert.equal(store.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(store.prepare("SELECT count(*) FROM runs WHERE repo='acme/big'").pluck().get(), 1000);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client that never finishes its request does not hold the process past the grace period', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sigterm-stuck-'));
  try {
    const GRACE_S = 1;
    const srv = await startServe(dir, GRACE_S);
    const stuck = send(srv.port, '/v1/outcomes', bigBatch(), { never: true });
    const quick = send(srv.port, '/v1/risk', risk(3), { trickleMs: 300 });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(stuck.sent.acceptedAt != null && quick.sent.acceptedAt != null);
    const signalAt = performance.now();
    srv.child.kill('SIGTERM');
    const q = await quick.done;
    assert.equal(q.status, 200, `${q.error} ${JSON.stringify(q.body)}`);
    const exit = await srv.exit;
    const s = await stuck.done;
    const exitMs = exit.at - signalAt;
    assert.equal(exit.code, 0, srv.out());
    assert.ok(exitMs >= GRACE_S * 1000 - 100, `waited for the grace period (${exitMs.toFixed(0)} ms)`);
    assert.ok(exitMs < GRACE_S * 1000 + 1500, `then cut the stuck request and exited (${exitMs.toFixed(0)} ms)`);
    assert.notEqual(s.error, null, 'the stuck request was cut, not answered');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
