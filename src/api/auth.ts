import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { RequestHandler } from 'express';
import { SCOPES, type ApiKey, type Scope } from '../config.ts';
import { HttpError } from './errors.ts';

export interface Principal {
  name: string;
  scopes: readonly Scope[];
  /** The key's bindings (RISKGATE_KEY_BINDINGS); see src/tenancy.ts. */
  services?: readonly string[];
  repos?: readonly string[];
}

/** Without configured keys the server only listens on loopback, so local callers get every scope. */
const LOCAL: Principal = { name: 'local', scopes: SCOPES };

/**
 * Resolves the bearer token to a key. Tokens are hashed and compared against every configured hash with
 * `timingSafeEqual`, without an early exit, so response time does not reveal which key (or how much) matched.
 */
export function findKey(keys: readonly ApiKey[], token: string): ApiKey | undefined {
  const h = createHash('sha256').update(token).digest();
  let found: ApiKey | undefined;
  for (const k of keys) if (timingSafeEqual(k.hash, h) && !found) found = k;
  return found;
}

/**
 * Failed authentications per client address (issue 16.8: 20,000 wrong keys from one address were all
 * answered 401, none limited). A token bucket per address: `burst` failures at once, refilled at
 * `perMinute`. Once an address has none left, every authentication attempt from it is refused with 429
 * before its key is even compared, a right one included, so guessing cannot go on at full speed and learn
 * from the answer. IPv6 addresses are grouped by /64 (one host usually has a whole /64 to rotate through);
 * IPv4-mapped IPv6 counts as the IPv4 address.
 *
 * Memory is bounded under address churn: at most `maxTracked` addresses, least recently failed dropped
 * first (a Map in touch order), so an attacker who keeps failing keeps its own entry fresh. ~150 bytes an
 * entry: 10,000 addresses ≈ 1.5 MB. Counted per worker process, like the request rate limit.
 */
export interface FailedAuthLimit {
  perMinute: number;
  burst: number;
  maxTracked?: number;
  clock?: () => number;
}

/** The 429 for an address that has used up its failed-authentication budget, or undefined while it has some. */
function tooManyFailures(failures: FailedAuthLimiter, group: string): HttpError | undefined {
  const wait = failures.retryAfter(group);
  if (wait <= 0) return undefined;
  return new HttpError(
    429,
    'rate_limited',
    `too many failed authentications from this address; retry in ${wait}s`,
    undefined,
    {
      'Retry-After': String(wait),
    },
  );
}

/** The address a failure is counted against: IPv4 as is, IPv6 by its /64 prefix. */
export function clientGroup(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('%')[0].toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (64:ff9b::1.2.3.4) stands for two groups.
  const tailGroups = t.length + (t.length > 0 && t[t.length - 1].includes('.') ? 1 : 0);
  const full = address.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - tailGroups)).fill('0'), ...t] : h;
  return `${full
    .slice(0, 4)
    .map((x) => x.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class FailedAuthLimiter {
  private readonly perMs: number;
  private readonly max: number;
  private readonly clock: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: FailedAuthLimit) {
    this.perMs = opts.perMinute / 60_000;
    this.max = opts.maxTracked ?? 10_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Seconds until `group` may try again, or 0 when it may try now. */
  retryAfter(group: string): number {
    const b = this.buckets.get(group);
    if (!b) return 0;
    const tokens = Math.min(this.opts.burst, b.tokens + (this.clock() - b.at) * this.perMs);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
  }

  fail(group: string): void {
    const now = this.clock();
    const b = this.buckets.get(group);
    const tokens = b ? Math.min(this.opts.burst, b.tokens + (now - b.at) * this.perMs) : this.opts.burst;
    // Re-inserted, so the Map's order is least recently failed first.
    this.buckets.delete(group);
    while (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(group, { tokens: tokens - 1, at: now });
  }

  get tracked(): number {
    return this.buckets.size;
  }
}

/**
 * `anonymousOk` marks paths (e.g. the dashboard's HTML shell) that may be fetched without a key; they get
 * no principal, so any `requireScope` behind them still answers 401. A wrong key is rejected everywhere.
 */
export function authenticate(
  keys: readonly ApiKey[],
  opts: { anonymousOk?: (path: string) => boolean; failures?: FailedAuthLimiter } = {},
): RequestHandler {
  return (req, res, next) => {
    if (res.locals.principal) return next(); // already authenticated by a path token (kayentaPathToken)
    if (keys.length === 0) {
      res.locals.principal = LOCAL;
      return next();
    }
    if (req.headers.authorization === undefined && opts.anonymousOk?.(req.path)) return next();
    // Only a credential that was sent and is wrong counts as a failure: a missing header guesses nothing.
    const group =
      opts.failures && req.headers.authorization !== undefined ? clientGroup(req.socket.remoteAddress) : undefined;
    const limited = group === undefined ? undefined : tooManyFailures(opts.failures!, group);
    if (limited) return next(limited);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const key = m ? findKey(keys, m[1]) : undefined;
    if (!key) {
      if (group !== undefined) opts.failures!.fail(group);
      return next(
        new HttpError(
          401,
          'unauthorized',
          m ? 'unknown API key' : 'missing bearer token (Authorization: Bearer <key>)',
          undefined,
          {
            'WWW-Authenticate': 'Bearer realm="riskgate"',
          },
        ),
      );
    }
    res.locals.principal = {
      name: key.name,
      scopes: key.scopes,
      services: key.services,
      repos: key.repos,
    } satisfies Principal;
    next();
  };
}

export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    const p = res.locals.principal as Principal | undefined;
    if (!p) return next(new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <key>)'));
    if (!p.scopes.includes(scope))
      return next(new HttpError(403, 'forbidden', `API key "${p.name}" lacks the "${scope}" scope`));
    next();
  };
}

/** Where Kayenta's remote judge is pointed: `kayenta.remoteJudge.endpoint.baseUrl: https://riskgate/kayenta/<token>`. */
export const KAYENTA_PATH_PREFIX = '/kayenta/';
const KAYENTA_PATH = /^\/kayenta\/([^/]+)(\/judge)$/;

/**
 * Kayenta's RemoteJudge (spinnaker/kayenta a69573b, kayenta-judge/.../RemoteJudge.java) is a Retrofit client
 * with only a base URL: it sends no Authorization header, and Retrofit appends `/judge` to the base URL's
 * path. So the key travels as a path segment: `POST /kayenta/<token>/judge` is `POST /judge` with that
 * token as its bearer key — the same constant-time lookup, the same scopes. The token is cut out of
 * `originalUrl` before anything can log it (the access log prints `originalUrl`; routing reads `url`).
 */
export function kayentaPathToken(keys: readonly ApiKey[], failures?: FailedAuthLimiter): RequestHandler {
  return (req, res, next) => {
    if (!req.path.startsWith(KAYENTA_PATH_PREFIX)) return next();
    const m = KAYENTA_PATH.exec(req.path);
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    req.originalUrl = `${KAYENTA_PATH_PREFIX}[redacted]${m ? m[2] : ''}`;
    if (!m)
      return next(
        new HttpError(
          404,
          'not_found',
          `no route for ${req.method} ${KAYENTA_PATH_PREFIX}[redacted]/…; Kayenta calls <base-url>/judge`,
        ),
      );
    if (keys.length > 0) {
      // A wrong path token is a wrong key like any other: it counts against the address's failures.
      const group = failures ? clientGroup(req.socket.remoteAddress) : undefined;
      const limited = group === undefined ? undefined : tooManyFailures(failures!, group);
      if (limited) return next(limited);
      let token: string;
      try {
        token = decodeURIComponent(m[1]);
      } catch {
        token = '';
      }
      const key = findKey(keys, token);
      if (!key) {
        if (group !== undefined) failures!.fail(group);
        return next(new HttpError(401, 'unauthorized', 'unknown API key in the path (/kayenta/<token>/judge)'));
      }
      res.locals.principal = { name: key.name, scopes: key.scopes } satisfies Principal;
    } else res.locals.principal = LOCAL;
    req.url = `${m[2]}${query}`;
    next();
  };
}
