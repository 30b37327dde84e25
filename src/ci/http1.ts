import { connect } from 'node:net';

/**
 * One HTTP/1.1 POST over a plain TCP socket, for the CI client's `http:` service URLs. The client runs once per
 * CI job, start to exit, and loading node:http (with its agent, parser and outgoing-message machinery) was the
 * largest part of what it added to Node's own start: 13-17 ms of a ~100 ms CPU profile on this (loaded) machine,
 * against ~2 ms for node:net. `https:` URLs keep node:https (TLS costs more than either).
 *
 * Scope: one request, `Connection: close`, a body of at most `maxBytes`. The answer may be sized by
 * Content-Length, chunked, or delimited by the server closing; 1xx interim answers are skipped.
 */
export interface Http1Answer {
  status: number;
  text: string;
}

export class Http1Error extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = code === 'TIMEOUT' ? 'TimeoutError' : 'Http1Error';
  }
}

interface Head {
  status: number;
  headers: Map<string, string>;
  bodyStart: number;
}

/** Parses a response head from `buf` if complete; skips 1xx answers. Returns null when more bytes are needed. */
export function parseHead(buf: Buffer): Head | null {
  let start = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) return null;
    const lines = buf.toString('latin1', start, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
    if (!m) throw new Http1Error(`not an HTTP/1.1 answer: ${JSON.stringify(lines[0].slice(0, 80))}`, 'EPROTO');
    const status = Number(m[1]);
    if (status >= 100 && status < 200 && status !== 101) {
      start = end + 4;
      continue;
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) throw new Http1Error(`bad header line ${JSON.stringify(line.slice(0, 80))}`, 'EPROTO');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    return { status, headers, bodyStart: end + 4 };
  }
}

/** Decodes a chunked body; `done` once the last (zero) chunk and its trailer end have arrived. */
export function decodeChunked(buf: Buffer): { body: Buffer; done: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return { body: Buffer.concat(parts), done: false };
    const sizeText = buf.toString('latin1', at, eol).split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
      throw new Http1Error(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`, 'EPROTO');
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      // The size line's CRLF, then trailer fields (rare), then an empty line.
      return { body: Buffer.concat(parts), done: buf.indexOf('\r\n\r\n', eol, 'latin1') >= 0 };
    }
    if (buf.length < eol + 2 + size + 2) return { body: Buffer.concat(parts), done: false };
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export function post1(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  maxBytes = 8 * 1024 * 1024,
): Promise<Http1Answer> {
  return new Promise<Http1Answer>((resolve, reject) => {
    const payload = Buffer.from(body);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || 80);
    const lines = [`POST ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
    for (const [k, v] of Object.entries(headers)) {
      if (/[\r\n]/.test(k + v)) return reject(new Http1Error(`header ${k} has a line break`));
      lines.push(`${k}: ${v}`);
    }
    lines.push(`Content-Length: ${payload.length}`, 'Connection: close', '', '');
    const socket = connect({ host, port });
    let settled = false;
    const finish = (err: Error | null, answer?: Http1Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    // One deadline for the whole exchange (connect, head and body), so a server that stalls mid-body also times out.
    const timer = setTimeout(() => finish(new Http1Error('timeout', 'TIMEOUT')), timeoutMs);
    let buf: Buffer = Buffer.alloc(0);
    let head: Head | null = null;
    const tryFinish = (closed: boolean) => {
      if (!head) head = parseHead(buf);
      if (!head) {
        if (closed) finish(new Http1Error('connection closed before an answer', 'ECONNRESET'));
        return;
      }
      const raw = buf.subarray(head.bodyStart);
      const te = head.headers.get('transfer-encoding');
      const cl = head.headers.get('content-length');
      if (te && /chunked/i.test(te)) {
        const { body: b, done } = decodeChunked(raw);
        if (done) finish(null, { status: head.status, text: b.toString('utf8') });
        else if (closed) finish(new Http1Error('connection closed inside a chunked answer', 'ECONNRESET'));
      } else if (cl !== undefined) {
        const n = Number(cl);
        if (!Number.isSafeInteger(n) || n < 0)
          return finish(new Http1Error(`bad Content-Length ${JSON.stringify(cl)}`, 'EPROTO'));
        if (n > maxBytes) return finish(new Http1Error(`answer larger than ${maxBytes} bytes`, 'E2BIG'));
        if (raw.length >= n) finish(null, { status: head.status, text: raw.subarray(0, n).toString('utf8') });
        else if (closed) finish(new Http1Error('connection closed before the whole answer', 'ECONNRESET'));
      } else if (head.status === 204 || head.status === 304) finish(null, { status: head.status, text: '' });
      else if (closed) finish(null, { status: head.status, text: raw.toString('utf8') });
    };
    // write, not end: a half-closed connection reads as "client went away" to some proxies (nginx's 499).
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), payload])));
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      // An answer is a few KiB; a server streaming without end must not fill the CI machine's memory.
      if (buf.length + chunk.length > maxBytes + 64 * 1024)
        return finish(new Http1Error(`answer larger than ${maxBytes} bytes`, 'E2BIG'));
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        tryFinish(false);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('end', () => {
      try {
        tryFinish(true);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('close', () => finish(new Http1Error('connection closed before an answer', 'ECONNRESET')));
    socket.on('error', (err: Error & { code?: string }) => finish(new Http1Error(err.message, err.code)));
  });
}
