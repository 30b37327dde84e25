import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGitHubClient, GitHubUnreachableError } from '../../src/github/client.ts';
import { freePort } from '../support/net.ts';

/**
 * Nothing listens: the client fails at once naming the host instead of retrying with backoff (an ingest
 * without network was silent for 51 s, then printed `getaddrinfo ENOTFOUND`; --verbose logged it as
 * "500 with id UNKNOWN"). DNS failures (ENOTFOUND, EAI_AGAIN) take the same path; they are not tested here
 * because resolving a name may leave the machine. Checked by hand once:
 * `riskgate ingest --repo a/b --base-url http://nonexistent.invalid` → "cannot reach nonexistent.invalid:
 * DNS lookup failed (no such host, or no network)", exit 1, in 1.8 s.
 */
test('a refused connection fails at once with the host named, without retries', async () => {
  const port = await freePort();
  const logs: { obj: Record<string, unknown>; msg?: string }[] = [];
  const sleeps: number[] = [];
  const client = createGitHubClient({
    baseUrl: `http://127.0.0.1:${port}`,
    retries: 5,
    retryBaseMs: 1000,
    sleep: async (ms) => void sleeps.push(ms),
    log: {
      info: (obj, msg) => void logs.push({ obj: obj as Record<string, unknown>, msg }),
      warn: (obj, msg) => void logs.push({ obj: obj as Record<string, unknown>, msg }),
    },
  });
  const err = await client.get('/repos/acme/web/actions/runs').then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GitHubUnreachableError, String(err));
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.host, `127.0.0.1:${port}`);
  assert.equal(err.message, `cannot reach 127.0.0.1:${port}: connection refused`);
  assert.deepEqual(sleeps, [], 'no backoff before giving up');
  assert.equal(client.stats.requests, 1);
  assert.ok(logs.some((l) => l.obj.event === 'github_unreachable' && l.obj.code === 'ECONNREFUSED'));
  assert.ok(!logs.some((l) => /with id UNKNOWN/.test(String(l.obj.message))), 'no "500 with id UNKNOWN"');
});
