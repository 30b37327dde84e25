import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import { fixedScorer, silent, testConfig } from './helpers.ts';

/**
 * Issue 16.10: 21,000 connections that sent nothing were never closed (fds reached 19,151 of 20,000).
 * Real sockets against the real server (startServer), no HTTP client in between.
 */
async function serve(
  env: Record<string, string>,
): Promise<{ running: RunningServer; port: number; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-conn-'));
  const running = await startServer(
    testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: join(dir, 'models'), ...env }),
    { logger: silent, scorer: fixedScorer(0.3) },
  );
  const port = Number(new URL(running.url).port);
  return {
    running,
    port,
    done: async () => {
      await running.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function open(port: number): Promise<Socket & { received: () => string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = connect(port, '127.0.0.1');
    s.on('data', (c) => (data += c));
    s.once('error', reject);
    s.once('connect', () => resolve(Object.assign(s, { received: () => data })));
  });
}

/** One GET on an open keep-alive socket; resolves with the status line once the whole (JSON) body arrived. */
function get(s: Socket & { received: () => string }, path: string): Promise<string> {
  const before = s.received().length;
  s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const check = () => {
      const text = s.received().slice(before);
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) {
        s.off('data', check);
        resolve(text.split('\r\n')[0]);
      }
    };
    s.on('data', check);
    s.once('close', () => reject(new Error(`closed before an answer to ${path}`)));
  });
}

test(
  'a connection that sends nothing is answered 408 and closed after the headers timeout',
  { timeout: 15_000 },
  async () => {
    const { port, done } = await serve({ RISKGATE_HEADERS_TIMEOUT_S: '0.3', RISKGATE_REQUEST_TIMEOUT_S: '0.6' });
    try {
      const idle = await open(port);
      const t0 = Date.now();
      await once(idle, 'close');
      const ms = Date.now() - t0;
      assert.match(idle.received(), /^HTTP\/1\.1 408 /);
      // headersTimeout plus at most one connection check (every ≤ 1 s); nowhere near Node's 60 s + 30 s.
      assert.ok(ms >= 250 && ms < 5000, `closed after ${ms} ms`);
    } finally {
      await done();
    }
  },
);

test(
  'a connection over RISKGATE_MAX_CONNECTIONS is closed at once; /live still answers on an existing one',
  { timeout: 15_000 },
  async () => {
    const { running, port, done } = await serve({
      RISKGATE_MAX_CONNECTIONS: '3',
      RISKGATE_HEADERS_TIMEOUT_S: '30',
      RISKGATE_REQUEST_TIMEOUT_S: '30',
      RISKGATE_KEEPALIVE_TIMEOUT_S: '30',
    });
    const sockets: Socket[] = [];
    try {
      let accepted = 0;
      const allIn = new Promise<void>((r) => running.server.on('connection', () => ++accepted === 3 && r()));
      const kept = await open(port);
      sockets.push(kept);
      assert.match(await get(kept, '/live'), /^HTTP\/1\.1 200 /);
      sockets.push(await open(port), await open(port)); // two idle ones fill the cap
      await allIn;
      const dropped = once(running.server, 'drop');
      const over = await open(port);
      sockets.push(over);
      await Promise.all([once(over, 'close'), dropped]);
      assert.equal(over.received(), '', 'closed without an answer');
      // The existing connection is still served.
      assert.match(await get(kept, '/live'), /^HTTP\/1\.1 200 /);
      assert.equal(running.server.maxConnections, 3);
    } finally {
      for (const s of sockets) s.destroy();
      await done();
    }
  },
);

test('connection settings are validated by name', () => {
  assert.throws(() => testConfig({ RISKGATE_MAX_CONNECTIONS: '0' }), /RISKGATE_MAX_CONNECTIONS/);
  assert.throws(() => testConfig({ RISKGATE_HEADERS_TIMEOUT_S: 'soon' }), /RISKGATE_HEADERS_TIMEOUT_S/);
  assert.throws(
    () => testConfig({ RISKGATE_HEADERS_TIMEOUT_S: '20', RISKGATE_REQUEST_TIMEOUT_S: '10' }),
    /RISKGATE_REQUEST_TIMEOUT_S.*below/,
  );
  const c = testConfig({}).connections;
  assert.deepEqual(c, {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5000,
    maxConnections: 1000,
  });
});
