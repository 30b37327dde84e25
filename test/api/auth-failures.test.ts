/**
 * Issue 16.8: 20,000 wrong keys from one address were all answered 401, none limited. Over real HTTP, with
 * the limiter's clock injected through the config (as test/reliability/ratelimit.test.ts does), so refills
 * are exact and nothing sleeps. A second loopback address (127.0.0.2, via the socket's localAddress) is a
 * second client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { clientGroup, FailedAuthLimiter } from '../../src/api/auth.ts';
import type { Config } from '../../src/config.ts';
import { serveApp, testConfig } from './helpers.ts';

const GOOD = 'ci-token-0123456789abcdef';
const KEYS = `ci:score+report:${GOOD}`;

function get(
  url: string,
  token: string | null,
  localAddress = '127.0.0.1',
): Promise<{ status: number; retryAfter?: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/circuits`,
      { localAddress, agent: false, headers: token === null ? {} : { authorization: `Bearer ${token}` } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            retryAfter: res.headers['retry-after'] as string | undefined,
            body: JSON.parse(text),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

test('wrong keys from one address: 401 up to the burst, then 429 with Retry-After for any key; other addresses unaffected; refills', async () => {
  const clock = { now: Date.parse('2026-12-05T00:00:00Z') };
  const base = testConfig({ RISKGATE_API_KEYS: KEYS });
  const config: Config = { ...base, authFailures: { perMinute: 6, burst: 5, clock: () => clock.now } };
  const s = await serveApp({ config });
  try {
    for (let i = 0; i < 5; i++)
      assert.equal((await get(s.url, `wrong-token-${i}-0123456789`)).status, 401, `wrong key ${i}`);
    const limited = await get(s.url, 'wrong-token-x-0123456789');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, 'rate_limited');
    assert.match(limited.body.message, /failed authentications/);
    assert.equal(limited.retryAfter, '10', '6 per minute: one failure back every 10 s');
    // The right key from the same address is refused too: the answer must not tell a guess apart.
    assert.equal((await get(s.url, GOOD)).status, 429);
    // No key at all guesses nothing and is not what is limited.
    assert.equal((await get(s.url, null)).status, 401);
    // Another client address is not affected.
    assert.equal((await get(s.url, GOOD, '127.0.0.2')).status, 200);
    assert.equal((await get(s.url, 'wrong-token-y-0123456789', '127.0.0.2')).status, 401);
    // Waiting Retry-After gives back one attempt.
    clock.now += 10_000;
    assert.equal((await get(s.url, GOOD)).status, 200);
  } finally {
    await s.close();
  }
});

test('wrong Kayenta path tokens count as failed authentications too, and share the limit with bearer keys', async () => {
  const clock = { now: Date.parse('2026-12-05T00:00:00Z') };
  const base = testConfig({ RISKGATE_API_KEYS: KEYS });
  const config: Config = { ...base, authFailures: { perMinute: 6, burst: 3, clock: () => clock.now } };
  const s = await serveApp({ config });
  const judge = async (token: string) =>
    (
      await fetch(`${s.url}/kayenta/${token}/judge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
    ).status;
  try {
    for (let i = 0; i < 3; i++)
      assert.equal(await judge(`wrong-path-token-${i}-0123456789`), 401, `wrong path token ${i}`);
    assert.equal(await judge('wrong-path-token-x-0123456789'), 429);
    // Guessing through the path uses up the same budget a bearer key would.
    assert.equal((await get(s.url, GOOD)).status, 429);
    clock.now += 10_000;
    // The right path token is let through to the judge (which then rejects the empty body on its own terms).
    assert.notEqual(await judge(GOOD), 401);
  } finally {
    await s.close();
  }
});

test('IPv6 addresses are grouped by /64; IPv4-mapped IPv6 counts as IPv4', () => {
  assert.equal(clientGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientGroup('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  assert.equal(clientGroup('2001:db8::5'), '2001:db8:0:0::/64');
  assert.equal(clientGroup('::1'), '0:0:0:0::/64');
  assert.equal(clientGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientGroup('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(clientGroup('10.1.2.3'), '10.1.2.3');
  assert.equal(clientGroup('1::2:3:4:5:1.2.3.4'), '1:0:2:3::/64', 'an IPv4 tail is two groups');
  const l = new FailedAuthLimiter({ perMinute: 1, burst: 2, clock: () => 0 });
  for (const host of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3']) l.fail(clientGroup(host));
  assert.ok(l.retryAfter(clientGroup('2001:db8:1:2::99')) > 0, 'a fresh address in the same /64 is already limited');
  assert.equal(l.retryAfter(clientGroup('2001:db8:1:3::1')), 0, 'the next /64 is not');
});

test('memory stays bounded under address churn, and a persistent attacker keeps its entry', () => {
  const l = new FailedAuthLimiter({ perMinute: 1, burst: 3, maxTracked: 1000, clock: () => 0 });
  for (let i = 0; i < 3; i++) l.fail('198.51.100.7');
  for (let i = 0; i < 50_000; i++) {
    l.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (i % 500 === 0) l.fail('198.51.100.7'); // keeps failing while others churn
  }
  assert.equal(l.tracked, 1000);
  assert.ok(l.retryAfter('198.51.100.7') > 0, 'the attacker that keeps failing is still limited');
});
