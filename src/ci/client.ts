import { RiskResponseSchema, type RiskRequestInput, type RiskResponse } from '../api/schemas.ts';
import { describeZodError } from '../records/schema.ts';

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

/** POSTs JSON and returns the parsed JSON answer; every failure is a RiskClientError naming what went wrong. */
export async function postJson(baseUrl: string, path: string, body: unknown, opts: ClientOptions): Promise<unknown> {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let res: Response;
  let text: string;
  // One deadline for the whole exchange (connect, headers and body), so a server that stalls mid-body also times out.
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new RiskClientError('timeout', `no answer from ${url} within ${opts.timeoutMs} ms`);
    throw new RiskClientError('unreachable', `cannot reach ${url}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RiskClientError(res.ok ? 'invalid_response' : 'http', `HTTP ${res.status} from ${url}: ${text.slice(0, 200)}`, res.status);
  }
  if (!res.ok) {
    const e = json as { error?: string; message?: string; details?: { path: string; message: string }[] };
    const details = e.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new RiskClientError('http', `HTTP ${res.status} ${e.error ?? ''}: ${e.message ?? ''}${details ? ` (${details})` : ''}`, res.status);
  }
  return json;
}

export async function requestRisk(baseUrl: string, body: RiskRequestInput, opts: ClientOptions): Promise<RiskResponse> {
  const json = await postJson(baseUrl, '/v1/risk', body, opts);
  const parsed = RiskResponseSchema.safeParse(json);
  if (!parsed.success) throw new RiskClientError('invalid_response', `unexpected answer from ${baseUrl}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
