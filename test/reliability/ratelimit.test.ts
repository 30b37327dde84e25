/**
 * The per-key token bucket (src/api/ratelimit.ts) over real HTTP, with its injectable clock so refills are
 * exact and the test never sleeps. test/api/errors.test.ts already checks the first 429 and that another
 * key still gets through; this file covers the rest of the design:
 * - exactly RISKGATE_RATE_BURST requests pass at once, then 429 with the exact Retry-After;
 * - tokens refill at RISKGATE_RATE_LIMIT per minute, capped at the burst; waiting Retry-After is enough;
 * - one key's exhaustion (on any route: the bucket is per key, not per route) does not touch another's;
 * - rejected input (400) costs a token, requests refused as 401 do not (authentication runs first);
 * - open probes (/live, /ready, /health, /metrics, /openapi.json) are never limited (they are answered
 *   before authentication and the limiter), also without keys, where the bucket is per client address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../src/config.ts';
import { call, serveApp, testConfig, type TestServer } from '../api/helpers.ts';

const A = 'key-a-token-0123456789abcdef';
const B = 'key-b-token-0123456789abcdef';
const KEYS = `a:score+report:${A},b:score+report:${B}`;
const as = (t: string) => ({ authorization: `Bearer ${t}` });
const RISK = { repo: 'acme/web' };

/** A server whose limiter reads `clock.now` (ms). */
async function limited(
  env: Record<string, string>,
  perMinute: number,
  burst: number,
): Promise<{ s: TestServer; clock: { now: number } }> {
  const clock = { now: Date.parse('2025-01-06T09:00:00Z') };
  const base = testConfig(env);
  const rateLimit = { perMinute, burst, clock: () => clock.now };
  const config: Config = { ...base, rateLimit };
  return { s: await serveApp({ config }), clock };
}

async function statuses(s: TestServer, n: number, token?: string, path = '/v1/risk'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r =
      path === '/v1/risk'
        ? await call(s.url, 'POST', path, RISK, token ? as(token) : {})
        : await call(s.url, 'GET', path, undefined, token ? as(token) : {});
    out.push(r.status);
  }
  return out;
}

test('exactly the burst passes at once; then 429 rate_limited with the exact Retry-After and the error contract', async () => {
  const { s } = await limited({ RISKGATE_API_KEYS: KEYS }, 6, 4); // one token every 10 s
  try {
    assert.deepEqual(await statuses(s, 4, A), [200, 200, 200, 200]);
    const r = await call(s.url, 'POST', '/v1/risk', RISK, as(A));
    assert.equal(r.status, 429);
    assert.equal(r.body.error, 'rate_limited');
    assert.match(r.body.message, /6\/min/);
    assert.equal(r.headers.get('retry-after'), '10');
    assert.equal(typeof r.body.request_id, 'string');
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'message', 'request_id']);
  } finally {
    await s.close();
  }
});

test('tokens refill at the configured rate, never beyond the burst, and waiting Retry-After is enough', async () => {
  const { s, clock } = await limited({ RISKGATE_API_KEYS: KEYS }, 60, 3); // one token a second
  try {
    assert.deepEqual(await statuses(s, 4, A), [200, 200, 200, 429]);
    clock.now += 999;
    assert.deepEqual(await statuses(s, 1, A), [429], 'not a whole token yet');
    clock.now += 1;
    assert.deepEqual(await statuses(s, 2, A), [200, 429], 'one token after one second');
    clock.now += 2_500;
    assert.deepEqual(await statuses(s, 3, A), [200, 200, 429], 'two and a half seconds: two tokens');
    // Half a token left: Retry-After rounds up, and waiting exactly that long is enough.
    const limitedNow = await call(s.url, 'POST', '/v1/risk', RISK, as(A));
    const wait = Number(limitedNow.headers.get('retry-after'));
    assert.equal(wait, 1);
    clock.now += wait * 1000;
    assert.deepEqual(await statuses(s, 1, A), [200]);
    // An hour idle refills to the burst, not to 3600 tokens.
    clock.now += 3_600_000;
    assert.deepEqual(await statuses(s, 4, A), [200, 200, 200, 429]);
  } finally {
    await s.close();
  }
});

test("one key's exhaustion does not affect another key, in either direction, and the bucket is per key across routes", async () => {
  const { s, clock } = await limited({ RISKGATE_API_KEYS: KEYS }, 60, 3);
  try {
    assert.deepEqual(await statuses(s, 4, A), [200, 200, 200, 429]);
    // The same key is limited on every route (one bucket per key), not only on the one it used up.
    assert.equal((await call(s.url, 'GET', '/v1/circuits/npm', undefined, as(A))).status, 429);
    assert.equal(
      (
        await call(
          s.url,
          'POST',
          '/v1/outcomes',
          { repo: 'acme/web', run_id: 1, created_at: '2024-01-01T00:00:00Z', conclusion: 'success' },
          as(A),
        )
      ).status,
      429,
    );
    assert.equal(s.store.countRuns(), 0, 'a rate-limited request stores nothing');
    // B has its full burst, on any route.
    assert.deepEqual(await statuses(s, 2, B), [200, 200]);
    assert.deepEqual(await statuses(s, 2, B, '/v1/circuits/npm'), [200, 429]);
    // B's exhaustion neither refills nor drains A: A gets exactly what the clock gave it.
    clock.now += 1000;
    assert.deepEqual(await statuses(s, 2, A), [200, 429]);
    assert.deepEqual(await statuses(s, 2, B), [200, 429]);
  } finally {
    await s.close();
  }
});

test('rejected input costs a token; requests refused as 401 never reach the limiter', async () => {
  const { s } = await limited({ RISKGATE_API_KEYS: KEYS }, 60, 3);
  try {
    const bad = await call(s.url, 'POST', '/v1/risk', { repo: 'nope' }, as(A));
    assert.equal(bad.status, 400);
    assert.equal((await call(s.url, 'POST', '/v1/risk', '{"repo":', as(A))).status, 400);
    assert.deepEqual(await statuses(s, 2, A), [200, 429], 'the two 400s used two of the three tokens');
    // Unknown keys and missing keys are answered 401 by authentication, before any bucket exists for them,
    // so they neither get 429 nor use up a real key's tokens (a flood of bad keys is bounded by sha256 cost).
    for (let i = 0; i < 6; i++)
      assert.equal((await call(s.url, 'POST', '/v1/risk', RISK, as(`wrong-token-${i}-0123456789`))).status, 401);
    for (let i = 0; i < 6; i++) assert.equal((await call(s.url, 'POST', '/v1/risk', RISK)).status, 401);
    assert.deepEqual(await statuses(s, 3, B), [200, 200, 200]);
  } finally {
    await s.close();
  }
});

test('open probes are not rate limited, with keys configured and without (per-address bucket)', async () => {
  for (const env of [{ RISKGATE_API_KEYS: KEYS }, {}] as Record<string, string>[]) {
    const token = env.RISKGATE_API_KEYS ? A : undefined;
    const { s } = await limited(env, 60, 2);
    try {
      assert.deepEqual(await statuses(s, 3, token), [200, 200, 429], `limited first (${token ? 'key' : 'address'})`);
      for (const p of ['/live', '/ready', '/health', '/metrics', '/openapi.json']) {
        assert.deepEqual(
          await statuses(s, 25, token, p),
          Array(25).fill(200),
          `${p} with ${token ? 'an exhausted key' : 'an exhausted address'}`,
        );
        assert.deepEqual(await statuses(s, 5, undefined, p), Array(5).fill(200), `${p} without a key`);
      }
      assert.deepEqual(await statuses(s, 1, token), [429], 'the probes did not refill the bucket either');
    } finally {
      await s.close();
    }
  }
});
