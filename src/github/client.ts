import { Octokit } from '@octokit/rest';
import type { Octokit as CoreOctokit } from '@octokit/core';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
import { CircuitBreaker, CircuitOpenError, type CircuitOptions, type DependencyHealth } from './circuit.ts';
import { classifyRateLimit, header, type Headers, type RateLimitVerdict } from './ratelimit.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface RateLimitEvent extends RateLimitVerdict {
  url: string;
  status: number;
}

export interface GitHubClientOptions {
  /** A personal or GitHub App installation token. Never logged. */
  token?: string;
  /** `https://ghe.example.com/api/v3` for GitHub Enterprise Server. */
  baseUrl?: string;
  log?: Logger;
  onRateLimit?: (e: RateLimitEvent) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** First 5xx retry delay; doubles each time, plus up to the same again of jitter. */
  retryBaseMs?: number;
  retries?: number;
  secondaryFallbackSec?: number;
  primaryFallbackSec?: number;
  circuit?: CircuitBreaker | CircuitOptions;
  userAgent?: string;
  /** Per attempt, headers and body: a GitHub that accepts the connection and never answers is an outage too (default 30 s). */
  requestTimeoutMs?: number;
}

export interface GetResult<T = unknown> {
  status: number;
  /** null on 304 Not Modified. */
  data: T | null;
  headers: Headers;
  url: string;
}

export interface RateState {
  limit: number | null;
  remaining: number | null;
  /** Epoch ms when the window resets. */
  resetAt: number | null;
}

export interface GitHubClient {
  octokit: Octokit;
  circuit: CircuitBreaker;
  rate: RateState;
  stats: { requests: number; conditional: number; notModified: number; rateLimited: number; serverErrors: number };
  /** GET a path (relative to the base URL, may carry a query) or an absolute URL; a 304 is an answer, not an error. */
  get<T = unknown>(url: string, opts?: { etag?: string }): Promise<GetResult<T>>;
  health(): DependencyHealth;
}

/**
 * GitHub cannot be reached at all: the name does not resolve or nothing listens. Retrying with backoff
 * only delays the answer (an ingest without network was silent for 51 s before printing ENOTFOUND), so it
 * is thrown at once, naming the host. It carries no `request`, so plugin-retry passes it through.
 */
export class GitHubUnreachableError extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
  ) {
    const why: Record<string, string> = {
      ENOTFOUND: 'DNS lookup failed (no such host, or no network)',
      EAI_AGAIN: 'DNS lookup failed temporarily (no network?)',
      ECONNREFUSED: 'connection refused',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
    };
    super(`cannot reach ${host}: ${why[code] ?? code}`);
    this.name = 'GitHubUnreachableError';
  }
}
const UNREACHABLE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH)\b/;

/** The errno code of a fetch failure as Octokit wraps it (status 500, no response; the code sits in its causes). */
function networkCode(err: unknown): string | null {
  const e = err as {
    response?: unknown;
    message?: string;
    cause?: { code?: string; message?: string; cause?: { code?: string } };
  };
  if (e.response) return null;
  const code = e.cause?.cause?.code ?? e.cause?.code;
  if (code) return code;
  return /\b(E[A-Z_]{3,})\b/.exec(String(e.message ?? ''))?.[1] ?? null;
}

/** The caller's own abort signal, kept beside the per-attempt deadline that replaces it. */
const CALLER_SIGNAL = Symbol('callerSignal');

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Network errors and 5xx mean GitHub (or the path to it) is unwell; anything else is an answer. */
export function isDependencyFailure(err: unknown): boolean {
  if (err instanceof CircuitOpenError) return false;
  const status = (err as { status?: number }).status;
  return typeof status !== 'number' || status >= 500 || status === 0;
}

export function createGitHubClient(opts: GitHubClientOptions = {}): GitHubClient {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  const log = opts.log;
  const retryBaseMs = opts.retryBaseMs ?? 1000;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const circuit =
    opts.circuit instanceof CircuitBreaker
      ? opts.circuit
      : new CircuitBreaker({ name: 'github', now, ...opts.circuit });
  const rate: RateState = { limit: null, remaining: null, resetAt: null };
  const stats = { requests: 0, conditional: 0, notModified: 0, rateLimited: 0, serverErrors: 0 };
  let resumeAt = 0;
  let secondaryStreak = 0;

  const noteRate = (h: Headers | undefined) => {
    const rem = header(h, 'x-ratelimit-remaining');
    if (rem === undefined) return;
    rate.remaining = Number(rem);
    const lim = header(h, 'x-ratelimit-limit');
    if (lim !== undefined) rate.limit = Number(lim);
    const reset = Number(header(h, 'x-ratelimit-reset'));
    rate.resetAt = Number.isFinite(reset) && reset > 0 ? reset * 1000 : rate.resetAt;
    // An exhausted window on a successful answer: the next call would be refused, so hold it back.
    if (rate.remaining === 0)
      resumeAt = Math.max(resumeAt, rate.resetAt ?? now() + (opts.primaryFallbackSec ?? 60) * 1000);
  };

  /**
   * Innermost layer (registered first, so it sits next to the wire): keeps the "not before" gate,
   * counts requests, and normalises rate-limit errors so plugin-throttling recognises every form.
   */
  const wire = (octokit: CoreOctokit) => {
    octokit.hook.wrap('request', async (request, options) => {
      const wait = resumeAt - now();
      if (wait > 0) await sleep(wait);
      stats.requests++;
      const headers = options.headers as Record<string, string | undefined>;
      if (headers['if-none-match']) stats.conditional++;
      try {
        // Without a deadline a hung connection would stall the ingest forever and never count as a failure.
        // A fresh deadline per attempt; `options` is bound into the inner hooks, so it is changed in place
        // (its `request` object may be the client's shared defaults, so that one is replaced, not mutated).
        const prev = (options.request ?? {}) as Record<PropertyKey, unknown> & { signal?: AbortSignal };
        const caller = (CALLER_SIGNAL in prev ? prev[CALLER_SIGNAL] : prev.signal) as AbortSignal | undefined;
        const signal = caller
          ? AbortSignal.any([caller, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs);
        options.request = { ...prev, signal, [CALLER_SIGNAL]: caller } as typeof options.request;
        const res = await request(options);
        noteRate(res.headers as Headers);
        secondaryStreak = 0;
        return res;
      } catch (err) {
        const e = err as {
          status?: number;
          message: string;
          response?: { headers: Headers; data?: { message?: string } };
        };
        const net = networkCode(err);
        if (net && UNREACHABLE.test(net)) {
          let host = String(options.baseUrl ?? opts.baseUrl ?? 'https://api.github.com');
          try {
            host = new URL(host).host;
          } catch {
            /* keep the text */
          }
          log?.warn({ event: 'github_unreachable', host, code: net });
          throw new GitHubUnreachableError(host, net);
        }
        // Octokit's request log calls this "500 with id UNKNOWN" (and is dropped below); say what happened.
        if (!e.response && e.status !== 304)
          log?.warn({ event: 'github_no_answer', url: String(options.url), error: net ?? e.message });
        noteRate(e.response?.headers);
        if (e.status === 304) {
          stats.notModified++;
          throw err;
        }
        if (typeof e.status === 'number' && e.status >= 500) stats.serverErrors++;
        const bodyMsg = String(e.response?.data?.message ?? e.message ?? '');
        const verdict =
          e.response &&
          classifyRateLimit(e.status ?? 0, e.response.headers, bodyMsg, {
            now: now(),
            primaryFallbackSec: opts.primaryFallbackSec,
            secondaryFallbackSec: opts.secondaryFallbackSec,
            secondaryStreak,
          });
        if (verdict && e.response) {
          stats.rateLimited++;
          resumeAt = Math.max(resumeAt, verdict.resumeAt);
          const h = e.response.headers as Record<string, string>;
          if (verdict.kind === 'secondary') {
            secondaryStreak++;
            // plugin-throttling only knows today's wording and reads the wait from retry-after.
            if (!/\bsecondary rate\b/i.test(e.message)) e.message += ' (secondary rate limit)';
            h['retry-after'] = String(Math.max(1, Math.ceil((verdict.resumeAt - now()) / 1000)));
          } else {
            h['x-ratelimit-remaining'] = '0';
            h['x-ratelimit-reset'] = String(Math.ceil(verdict.resumeAt / 1000));
          }
          const event: RateLimitEvent = { ...verdict, url: String(options.url), status: e.status ?? 0 };
          log?.warn({
            event: 'github_rate_limited',
            kind: verdict.kind,
            url: event.url,
            resume_at: new Date(verdict.resumeAt).toISOString(),
            source: verdict.source,
          });
          opts.onRateLimit?.(event);
        }
        throw err;
      }
    });
    return {};
  };

  const GitHub = Octokit.plugin(wire, throttling, retry);
  const octokit = new GitHub({
    auth: opts.token,
    baseUrl: opts.baseUrl,
    userAgent: opts.userAgent ?? 'riskgate-ingest',
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => log?.warn({ event: 'octokit_warning', message: m }),
      error: (m: string) => {
        // Octokit reports a 304 as an error; for conditional requests it is the good outcome.
        if (/ - 304 /.test(m)) return;
        // "500 with id UNKNOWN" is a request that got no answer at all: the wire layer logs it with its cause.
        if (/ with id UNKNOWN /.test(m)) return;
        log?.warn({ event: 'octokit_error', message: m });
      },
    },
    throttle: {
      // Both handlers say "retry"; the wire layer's gate makes sure the retry waits for the reset.
      onRateLimit: (_after: number, _o: unknown, _k: unknown, retryCount: number) => retryCount < 4,
      onSecondaryRateLimit: (_after: number, _o: unknown, _k: unknown, retryCount: number) => retryCount < 6,
      fallbackSecondaryRateRetryAfter: opts.secondaryFallbackSec ?? 60,
    },
    retry: {
      retries: opts.retries ?? 5,
      // 403/429 belong to the throttling plugin; the retry plugin handles 5xx only.
      doNotRetry: [304, 400, 401, 403, 404, 409, 410, 422, 429, 451],
      // Delays are computed below in milliseconds, so the plugin's multiplier is 1.
      retryAfterBaseValue: 1,
    },
  });

  /** What the retry plugin hands retryRequest: a RequestError whose request options it re-sends. */
  type RetryError = { status?: number; request: { request?: Record<string, unknown> } };
  // The retry plugin's own schedule is quadratic without jitter; replace it with exponential + full jitter
  // so many clients recovering from the same outage do not retry in lockstep.
  const retryApi = (
    octokit as unknown as { retry: { retryRequest: (e: RetryError, retries: number, after: number) => unknown } }
  ).retry;
  retryApi.retryRequest = (error: RetryError, retries: number, quadraticAfter: number) => {
    const attempt = Math.max(0, Math.round(Math.sqrt(quadraticAfter)) - 1);
    const delay = retryBaseMs * 2 ** attempt + Math.floor(Math.random() * retryBaseMs * 2 ** attempt);
    error.request.request = Object.assign({}, error.request.request, { retries, retryAfter: delay });
    log?.warn({ event: 'github_retry', status: error.status, attempt: attempt + 1, delay_ms: delay });
    return error;
  };

  // Outermost layer: the breaker sees one outcome per logical call, after retries.
  octokit.hook.wrap('request', async (request, options) => {
    if (!circuit.allow()) throw new CircuitOpenError(circuit.name, circuit.retryAt());
    try {
      const res = await request(options);
      circuit.success();
      return res;
    } catch (err) {
      if (isDependencyFailure(err)) circuit.failure();
      else circuit.success();
      throw err;
    }
  });

  async function get<T>(url: string, o: { etag?: string } = {}): Promise<GetResult<T>> {
    try {
      const res = await octokit.request({ method: 'GET', url, headers: o.etag ? { 'if-none-match': o.etag } : {} });
      return { status: res.status, data: res.data as T, headers: res.headers as Headers, url };
    } catch (err) {
      const e = err as { status?: number; response?: { headers: Headers } };
      if (e.status === 304) return { status: 304, data: null, headers: e.response?.headers ?? {}, url };
      throw err;
    }
  }

  return { octokit, circuit, rate, stats, get, health: () => circuit.health() };
}
