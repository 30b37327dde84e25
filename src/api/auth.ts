import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { SCOPES, type ApiKey, type Scope } from '../config.ts';
import { HttpError } from './errors.ts';

export interface Principal {
  name: string;
  scopes: readonly Scope[];
  /** The key's bindings (RISKGATE_KEY_BINDINGS); see src/api/tenancy.ts. */
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
 * `anonymousOk` marks paths (e.g. the dashboard's HTML shell) that may be fetched without a key; they get
 * no principal, so any `requireScope` behind them still answers 401. A wrong key is rejected everywhere.
 */
export function authenticate(keys: readonly ApiKey[], opts: { anonymousOk?: (path: string) => boolean } = {}): RequestHandler {
  return (req, res, next) => {
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
    res.locals.principal = { name: key.name, scopes: key.scopes, services: key.services, repos: key.repos } satisfies Principal;
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
