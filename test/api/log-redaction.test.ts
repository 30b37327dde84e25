import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createAlerter } from '../../src/alerts/alerter.ts';
import { receiver } from '../support/receiver.ts';
import { call, serveApp } from './helpers.ts';

/** A real pino logger whose lines are kept (issue 16.5: the secret must not reach any of them). */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines, text: () => lines.join('') };
}

const KEYS = 'ci:score+report:ci-token-0123456789';
const SECRET = 'tok-SECRET-5f1c0d9e8b7a';

test('a token sent as ?api_key= is rejected and never written to the access log', async () => {
  const c = capture();
  const s = await serveApp({ env: { RISKGATE_API_KEYS: KEYS }, logger: c.log });
  try {
    const r = await call(s.url, 'GET', `/v1/circuits?api_key=${SECRET}&access_token=${SECRET}2&limit=5&x=${SECRET}3`);
    assert.equal(r.status, 401);
    // With a valid key too: the access log of an authenticated request (refused for its unknown parameter,
    // the circuit list's query is strict) is redacted the same way.
    const ok = await call(s.url, 'GET', `/v1/circuits?token=${SECRET}4&limit=5`, undefined, {
      authorization: 'Bearer ci-token-0123456789',
    });
    assert.equal(ok.status, 400);
    assert.ok(!ok.text.includes('SECRET'), 'nor is it echoed in the error');
    await new Promise((r) => setImmediate(r));
    const access = c.lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request');
    assert.equal(access.length, 2, c.text());
    assert.ok(!c.text().includes('SECRET'), `secret in the log:\n${c.text()}`);
    // Harmless parameters stay readable, so the log is still useful.
    assert.equal(access[0].url, '/v1/circuits?api_key=[redacted]&access_token=[redacted]&limit=5&x=[redacted]');
    assert.equal(access[1].url, '/v1/circuits?token=[redacted]&limit=5');
  } finally {
    await s.close();
  }
});

test('a Slack webhook answering 400 is logged without its path secret', async () => {
  const rx = await receiver([400]);
  const warnings: object[] = [];
  const log = { warn: (o: object) => void warnings.push(o) };
  const url = `${rx.url}/services/T000/B000/${SECRET}?token=${SECRET}q`;
  const a = createAlerter({ webhooks: [{ url, format: 'slack' }], retry: { attempts: 1 }, log });
  a.alert({ kind: 'drift', message: 'drift' });
  await a.flush();
  assert.equal(rx.hits.length, 1, 'the webhook was called');
  assert.equal(warnings.length, 1);
  const text = JSON.stringify(warnings);
  assert.ok(!text.includes('SECRET'), text);
  assert.ok(!text.includes('/services/'), text);
  assert.match(text, /127\.0\.0\.1/, 'the host is still named');
  assert.match(text, /"status":400/);
  await rx.close();
});

test('a webhook URL with user:password is not repeated by the delivery error', async () => {
  const warnings: object[] = [];
  const log = { warn: (o: object) => void warnings.push(o) };
  // fetch refuses URLs with credentials and repeats the URL in its error message.
  const a = createAlerter({
    webhooks: [{ url: `http://user:${SECRET}@127.0.0.1:9/hooks/${SECRET}`, format: 'json' }],
    retry: { attempts: 1 },
    log,
  });
  a.alert({ kind: 'drift', message: 'drift' });
  await a.flush();
  assert.equal(warnings.length, 1);
  const text = JSON.stringify(warnings);
  assert.ok(!text.includes('SECRET'), text);
  assert.match(
    text,
    /cannot be constructed from a URL.*127\.0\.0\.1:9\/\[redacted\]/,
    'the error still says what went wrong',
  );
});

test('an unhandled error whose message holds a URL with credentials is logged without them', async () => {
  const c = capture();
  const { Router } = await import('express');
  const r = Router();
  r.get('/v1/boom', () => {
    throw new Error(`upstream http://user:${SECRET}@127.0.0.1:9/q/${SECRET}?token=${SECRET} failed`);
  });
  const s = await serveApp({ logger: c.log, extraRouters: [r] });
  try {
    const res = await call(s.url, 'GET', '/v1/boom');
    assert.equal(res.status, 500);
    const errors = c.lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'unhandled error');
    assert.equal(errors.length, 1, c.text());
    assert.match(errors[0].err.message, /upstream http:\/\/127\.0\.0\.1:9\/\[redacted\] failed/);
    assert.ok(!c.text().includes('SECRET'), c.text());
  } finally {
    await s.close();
  }
});
