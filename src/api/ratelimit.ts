import type { RequestHandler } from 'express';
import { HttpError } from './errors.ts';

/**
 * Per-caller token bucket (per API key, or per client address when no keys are configured). In memory:
 * a limit per server instance is what protects that instance.
 */
export function rateLimit(opts: { perMinute: number; burst: number; clock?: () => number }): RequestHandler {
  const perMs = opts.perMinute / 60_000;
  const clock = opts.clock ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    const id: string =
      res.locals.principal && res.locals.principal.name !== 'local'
        ? `key:${res.locals.principal.name}`
        : `ip:${req.socket.remoteAddress}`;
    const now = clock();
    let b = buckets.get(id);
    if (!b) {
      if (buckets.size > 10_000)
        for (const [k, v] of buckets) if (v.tokens + (now - v.at) * perMs >= opts.burst) buckets.delete(k);
      b = { tokens: opts.burst, at: now };
      buckets.set(id, b);
    }
    b.tokens = Math.min(opts.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      return next(
        new HttpError(
          429,
          'rate_limited',
          `rate limit of ${opts.perMinute}/min exceeded; retry in ${wait}s`,
          undefined,
          { 'Retry-After': String(wait) },
        ),
      );
    }
    b.tokens -= 1;
    next();
  };
}
