import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiver } from '../support/receiver.ts';
import { backoffMs, createAlerter, parseWebhooks } from '../../src/alerts/alerter.ts';
import { alertConfigFromEnv } from '../../src/config/background.ts';

const fast = { attempts: 4, baseMs: 5, maxMs: 20 };
const alert = {
  kind: 'high_score' as const,
  repo: 'acme/web',
  head_sha: 'abc123def4567890',
  score: 0.91,
  factors: [{ feature: 'recent_fail_rate', value: 0.5, contribution: 1.2 }],
  message: 'risky',
};

test('delivers once, in Slack format, without making the caller wait', async () => {
  const rx = await receiver();
  const a = createAlerter({
    webhooks: [{ url: rx.url, format: 'slack' }],
    dashboardUrl: 'https://riskgate.example/',
    retry: fast,
  });
  const r = a.alert(alert);
  assert.deepEqual(r, { queued: true });
  assert.equal(rx.hits.length, 0, 'alert() returned before any delivery happened');
  await a.flush();
  assert.equal(rx.hits.length, 1);
  const text = String(rx.hits[0].body.text);
  assert.match(text, /acme\/web/);
  assert.match(text, /abc123def456/);
  assert.match(text, /91 %/);
  assert.match(text, /recent_fail_rate/);
  assert.match(text, /https:\/\/riskgate\.example\/repos\/acme%2Fweb\?sha=abc123def4567890/);
  assert.ok(Array.isArray(rx.hits[0].body.blocks));
  assert.equal(rx.hits[0].headers['content-type'], 'application/json');
  assert.equal(a.stats().delivered, 1);
  await rx.close();
});

test('generic JSON payload carries repo, commit, score, factors and link', async () => {
  const rx = await receiver();
  const a = createAlerter({
    webhooks: [{ url: rx.url, format: 'json' }],
    dashboardUrl: 'https://d.example',
    retry: fast,
  });
  a.alert(alert);
  await a.flush();
  const b = rx.hits[0].body;
  assert.equal(b.kind, 'high_score');
  assert.equal(b.repo, 'acme/web');
  assert.equal(b.head_sha, alert.head_sha);
  assert.equal(b.score, 0.91);
  assert.deepEqual(b.factors, alert.factors);
  assert.equal(b.link, 'https://d.example/repos/acme%2Fweb?sha=abc123def4567890');
  await rx.close();
});

test('retries 5xx with backoff until delivered', async () => {
  const rx = await receiver([503, 500]);
  const a = createAlerter({ webhooks: [{ url: rx.url, format: 'json' }], retry: fast });
  a.alert(alert);
  await a.flush();
  assert.equal(rx.hits.length, 3);
  assert.deepEqual(rx.hits[0].body, rx.hits[2].body);
  const s = a.stats();
  assert.equal(s.delivered, 1);
  assert.equal(s.retries, 2);
  await rx.close();
});

test('gives up after the configured attempts; a 4xx is not retried', async () => {
  const rx = await receiver([500, 500, 500, 500, 500, 400]);
  const a = createAlerter({ webhooks: [{ url: rx.url, format: 'json' }], retry: fast });
  a.alert(alert);
  await a.flush();
  assert.equal(rx.hits.length, 4);
  assert.equal(a.stats().failed, 1);
  a.alert({ ...alert, head_sha: 'other' }); // 5th answer 500 then 400
  await a.flush();
  assert.equal(rx.hits.length, 6);
  assert.equal(a.stats().failed, 2);
  await rx.close();
});

test('network errors are retried too (receiver comes up late)', async () => {
  const rx = await receiver();
  await rx.close();
  const a = createAlerter({ webhooks: [{ url: rx.url, format: 'json' }], retry: { attempts: 3, baseMs: 1, maxMs: 2 } });
  a.alert(alert);
  await a.flush();
  assert.equal(a.stats().retries, 2);
  assert.equal(a.stats().failed, 1);
});

test('deduplicates per (kind, repo, commit) within the window', async () => {
  const rx = await receiver();
  let now = 1_000_000;
  const a = createAlerter({
    webhooks: [{ url: rx.url, format: 'json' }],
    retry: fast,
    dedupeWindowMs: 60_000,
    now: () => now,
  });
  assert.equal(a.alert(alert).queued, true);
  assert.equal(a.alert(alert).queued, false);
  assert.equal(a.alert({ ...alert, kind: 'canary_rollback' }).queued, true);
  assert.equal(a.alert({ ...alert, head_sha: 'fff' }).queued, true);
  now += 60_001;
  assert.equal(a.alert(alert).queued, true);
  await a.flush();
  assert.equal(rx.hits.length, 4);
  assert.equal(a.stats().deduplicated, 1);
  await rx.close();
});

test('backoff doubles with jitter and is capped', () => {
  const r = { attempts: 5, baseMs: 100, maxMs: 1000 };
  assert.equal(
    backoffMs(1, r, () => 0),
    100,
  );
  assert.equal(
    backoffMs(3, r, () => 0),
    400,
  );
  assert.equal(
    backoffMs(3, r, () => 0.5),
    600,
  );
  assert.equal(
    backoffMs(10, r, () => 1),
    1000,
  );
});

test('webhook configuration errors name the variable', () => {
  assert.deepEqual(parseWebhooks('slack:https://hooks.slack.com/x, json:http://127.0.0.1:9/h'), [
    { url: 'https://hooks.slack.com/x', format: 'slack' },
    { url: 'http://127.0.0.1:9/h', format: 'json' },
  ]);
  assert.throws(() => parseWebhooks('slack:not a url'), /RISKGATE_ALERT_WEBHOOKS/);
  assert.throws(() => parseWebhooks('ftp://x.example/'), /RISKGATE_ALERT_WEBHOOKS.*ftp/);
  assert.throws(() => alertConfigFromEnv({ RISKGATE_ALERT_MIN_SCORE: '2' }), /RISKGATE_ALERT_MIN_SCORE/);
  assert.equal(alertConfigFromEnv({}).minScore, 0.8);
  assert.throws(() => createAlerter({ webhooks: [] }).alert({ ...alert, kind: 'nope' as never }), /unknown alert kind/);
});
