/**
 * The CI client's one-request HTTP/1.1 client (src/ci/http1.ts): its request is what Node's own HTTP parser
 * (llhttp, in node:http) reads, and it reads every way a server or proxy may frame an answer, however the
 * bytes are split across packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { decodeChunked, parseHead, post1 } from '../../src/ci/http1.ts';
import { freePort } from '../support/net.ts';

async function listen(s: Server | ReturnType<typeof createHttpServer>): Promise<URL> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(s.address() as AddressInfo).port}/base/v1/risk?x=1`);
}

/** A raw server answering `answer` in the given pieces, each written once the previous one is flushed. */
function rawServer(answer: Buffer, cuts: number[], opts: { close?: boolean } = {}): Server {
  return createServer((sock: Socket) => {
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const headEnd = got.indexOf('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(got.toString('latin1'))?.[1] ?? NaN);
      if (headEnd < 0 || got.length < headEnd + 4 + len) return;
      const points = [...new Set(cuts.map((c) => c % (answer.length + 1)))].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let at = 0;
      for (const p of [...points, answer.length]) {
        if (p > at) pieces.push(answer.subarray(at, p));
        at = p;
      }
      const next = () => {
        const piece = pieces.shift();
        if (piece) sock.write(piece, next);
        else if (opts.close) sock.end();
      };
      next();
    });
    sock.on('error', () => {});
  });
}

test("the request is valid HTTP/1.1 to Node's parser: method, path, Host, length, body, headers, Connection: close", async () => {
  let seen: { method?: string; url?: string; headers?: Record<string, unknown>; body?: string } = {};
  const s = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: 'é' }));
    });
  });
  const url = await listen(s);
  try {
    const body = JSON.stringify({ repo: 'acme/web', note: 'ünïcode ✓' });
    const a = await post1(url, { 'content-type': 'application/json', authorization: 'Bearer k' }, body, 5000);
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.text), { ok: 'é' });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/base/v1/risk?x=1');
    assert.equal(seen.headers?.host, url.host);
    assert.equal(seen.headers?.authorization, 'Bearer k');
    assert.equal(seen.headers?.connection, 'close');
    assert.equal(Number(seen.headers?.['content-length']), Buffer.byteLength(body));
    assert.equal(seen.body, body);
    await assert.rejects(post1(url, { 'x-evil': 'a\r\nInjected: 1' }, '{}', 5000), /line break/);
  } finally {
    s.close();
  }
});

test('answers framed by Content-Length, chunked (extensions, trailers), or the server closing, split anywhere; 1xx skipped', async () => {
  const body = JSON.stringify({ probability: 0.5, text: 'x'.repeat(300) + 'é' });
  const b = Buffer.from(body);
  const framings: [string, Buffer, boolean][] = [
    [
      'content-length',
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`),
        b,
      ]),
      false,
    ],
    [
      'chunked',
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        Buffer.from(`${(100).toString(16)};ext=1\r\n`),
        b.subarray(0, 100),
        Buffer.from(`\r\n${(b.length - 100).toString(16)}\r\n`),
        b.subarray(100),
        Buffer.from('\r\n0\r\nX-Trailer: t\r\n\r\n'),
      ]),
      false,
    ],
    ['close-delimited', Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), b]), true],
    [
      'after 100 and 103',
      Buffer.concat([
        Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n'),
        Buffer.from(`HTTP/1.1 201 Created\r\nContent-Length: ${b.length}\r\n\r\n`),
        b,
      ]),
      false,
    ],
  ];
  for (const [name, answer, close] of framings) {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(answer.length), { maxLength: 6 }), async (cuts) => {
        const s = rawServer(answer, cuts, { close });
        const url = await listen(s);
        try {
          const a = await post1(url, {}, '{}', 5000);
          assert.equal(a.text, body, name);
          assert.ok(a.status === 200 || a.status === 201);
        } finally {
          s.close();
        }
      }),
      { numRuns: 15 },
    );
  }
  // Every byte its own packet, once.
  const one = rawServer(
    framings[1][1],
    Array.from({ length: framings[1][1].length }, (_, i) => i),
  );
  const url = await listen(one);
  try {
    assert.equal((await post1(url, {}, '{}', 5000)).text, body);
  } finally {
    one.close();
  }
});

test('errors: refused, timeout, oversize, endless stream, cut short, not HTTP', async () => {
  const refused = new URL(`http://127.0.0.1:${await freePort()}/`);
  await assert.rejects(post1(refused, {}, '{}', 2000), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');

  const cases: [string, (s: Socket) => void, RegExp, number?][] = [
    ['silent', () => {}, /timeout/, 300],
    ['oversize', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n'), /larger than/],
    [
      'endless',
      (s) => {
        s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        const more = () => {
          if (!s.destroyed) s.write(`10000\r\n${'x'.repeat(0x10000)}\r\n`, more);
        };
        more();
      },
      /larger than/,
    ],
    ['cut short', (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), /closed before the whole answer/],
    ['cut in a chunk', (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'), /chunked/],
    ['no answer', (s) => s.end(), /closed before an answer/],
    ['not HTTP', (s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'), /not an HTTP\/1.1 answer/],
  ];
  for (const [name, behave, re, timeout] of cases) {
    const s = createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => behave(sock));
    });
    const url = await listen(s);
    try {
      await assert.rejects(post1(url, {}, '{}', timeout ?? 5000, 1024 * 1024), re, name);
    } finally {
      s.close();
    }
  }
});

test('parseHead and decodeChunked wait for more bytes instead of guessing', () => {
  assert.equal(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n')), null);
  assert.equal(parseHead(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200')), null);
  const h = parseHead(Buffer.from('HTTP/1.1 404 Not Found\r\nA: 1\r\na: 2\r\n\r\nxy'));
  assert.equal(h?.status, 404);
  assert.equal(h?.headers.get('a'), '1, 2');
  assert.deepEqual(decodeChunked(Buffer.from('3\r\nabc\r\n0\r\n')), { body: Buffer.from('abc'), done: false });
  assert.deepEqual(decodeChunked(Buffer.from('3\r\nabc\r\n0\r\n\r\n')), { body: Buffer.from('abc'), done: true });
  assert.throws(() => decodeChunked(Buffer.from('zz\r\n')), /bad chunk size/);
});
