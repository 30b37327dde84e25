import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { SCOPES, type ApiKey, type Scope } from '../config.ts';
import { HttpError } from './errors.ts';

export interface Principal {
  name: string;
  scopes: readonly Scope[];
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
 * `anonymousOk` marks paths (e.g. the dashboard's HTML shell) that may be fetched without a key; they get
 * no principal, so any `requireScope` behind them still answers 401. A wrong key is rejected everywhere.
 */
export function authenticate(keys: readonly ApiKey[], opts: { anonymousOk?: (path: string) => boolean } = {}): RequestHandler {
  return (req, res, next) => {
    if (res.locals.principal) return next(); // already authenticated by a path token (kayentaPathToken)
    if (keys.length === 0) {
      res.locals.principal = LOCAL;
      return next();
    }
    if (req.headers.authorization === undefined && opts.anonymousOk?.(req.path)) return next();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const key = m ? findKey(keys, m[1]) : undefined;
    if (!key) {
      return next(
        new HttpError(401, 'unauthorized', m ? 'unknown API key' : 'missing bearer token (Authorization: Bearer <key>)', undefined, {
          'WWW-Authenticate': 'Bearer realm="riskgate"',
        }),
      );
    }
    res.locals.principal = { name: key.name, scopes: key.scopes } satisfies Principal;
    next();
  };
}

export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    const p = res.locals.principal as Principal | undefined;
    if (!p) return next(new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <key>)'));
    if (!p.scopes.includes(scope)) return next(new HttpError(403, 'forbidden', `API key "${p.name}" lacks the "${scope}" scope`));
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
export function kayentaPathToken(keys: readonly ApiKey[]): RequestHandler {
  return (req, res, next) => {
    if (!req.path.startsWith(KAYENTA_PATH_PREFIX)) return next();
    const m = KAYENTA_PATH.exec(req.path);
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    req.originalUrl = `${KAYENTA_PATH_PREFIX}[redacted]${m ? m[2] : ''}`;
    if (!m) return next(new HttpError(404, 'not_found', `no route for ${req.method} ${KAYENTA_PATH_PREFIX}[redacted]/…; Kayenta calls <base-url>/judge`));
    if (keys.length > 0) {
      let token: string;
      try {
        token = decodeURIComponent(m[1]);
      } catch {
        token = '';
      }
      const key = findKey(keys, token);
      if (!key) return next(new HttpError(401, 'unauthorized', 'unknown API key in the path (/kayenta/<token>/judge)'));
      res.locals.principal = { name: key.name, scopes: key.scopes } satisfies Principal;
    } else res.locals.principal = LOCAL;
    req.url = `${m[2]}${query}`;
    next();
  };
}
