import type { RiskRequestInput, RiskResponse } from '../serving/schemas.ts';
import { parseRiskResponse } from './answer.ts';
import { post1 } from './http1.ts';

/** Why the service gave no usable answer; every kind leads to the same fail-open / fail-closed decision. */
export class RiskClientError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'timeout' | 'http' | 'invalid_response',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RiskClientError';
  }
}

export interface ClientOptions {
  apiKey?: string;
  timeoutMs: number;
}

/** A URL for messages, which end up in CI logs: without credentials someone put in it (https://user:pass@…). */
export function redactUrl(u: string): string {
  try {
    const shown = new URL(u);
    shown.username = '';
    shown.password = '';
    return shown.href;
  } catch {
    return '(invalid URL)';
  }
}

interface RawAnswer {
  status: number;
  text: string;
}

/**
 * One POST over a socket (http:, see http1.ts) or node:https, not fetch. The client runs once per CI job,
 * start to exit, so what counts is process time: Node 20's fetch loads undici on first use (~60 ms here) and
 * keeps its connection alive, which holds the process ~300 ms after the answer (measured: answer at 250 ms,
 * exit at 556 ms); one request with `Connection: close` lets Node exit as soon as the body is in.
 */
async function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<RawAnswer> {
  if (url.protocol === 'http:') return post1(url, headers, body, timeoutMs);
  const { request } = await import('node:https');
  return new Promise<RawAnswer>((resolve, reject) => {
    const payload = Buffer.from(body);
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(payload.length), connection: 'close' },
      agent: false,
    });
    // One deadline for the whole exchange (connect, headers and body), so a server that stalls mid-body also times out.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        // An answer is a few KiB; a server streaming without end must not fill the CI machine's memory.
        if (size > 8 * 1024 * 1024) req.destroy(new Error('answer larger than 8 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end(payload);
  });
}

/** POSTs JSON and returns the parsed JSON answer; every failure is a RiskClientError naming what went wrong. */
export async function postJson(baseUrl: string, path: string, body: unknown, opts: ClientOptions): Promise<unknown> {
  let target: URL;
  try {
    target = new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new Error(`unsupported protocol ${target.protocol}`);
  } catch (err) {
    throw new RiskClientError('unreachable', `bad service URL: ${(err as Error).message}`);
  }
  const url = redactUrl(target.href);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let res: RawAnswer;
  try {
    res = await post(target, headers, JSON.stringify(body), opts.timeoutMs);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.name === 'TimeoutError')
      throw new RiskClientError('timeout', `no answer from ${url} within ${opts.timeoutMs} ms`);
    throw new RiskClientError('unreachable', `cannot reach ${url}: ${e.code ?? e.message}`);
  }
  const ok = res.status >= 200 && res.status < 300;
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw new RiskClientError(
      ok ? 'invalid_response' : 'http',
      `HTTP ${res.status} from ${url}: ${res.text.slice(0, 200)}`,
      res.status,
    );
  }
  if (!ok) {
    const e = json as { error?: string; message?: string; details?: { path: string; message: string }[] };
    const details = e?.details?.map?.((d) => `${d.path}: ${d.message}`).join('; ');
    throw new RiskClientError(
      'http',
      `HTTP ${res.status} ${e?.error ?? ''}: ${e?.message ?? ''}${details ? ` (${details})` : ''}`,
      res.status,
    );
  }
  return json;
}

export async function requestRisk(baseUrl: string, body: RiskRequestInput, opts: ClientOptions): Promise<RiskResponse> {
  const json = await postJson(baseUrl, '/v1/risk', body, opts);
  const parsed = parseRiskResponse(json);
  if (!parsed.ok)
    throw new RiskClientError('invalid_response', `unexpected answer from ${redactUrl(baseUrl)}: ${parsed.error}`);
  return parsed.value;
}
