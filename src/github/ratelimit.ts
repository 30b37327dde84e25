/**
 * Pure helpers for reading GitHub's rate-limit and paging signals. Kept free of I/O so the replayed
 * real recordings can be checked against them directly.
 */

export type Headers = Record<string, string | number | string[] | undefined>;

export interface RateLimitVerdict {
  kind: 'primary' | 'secondary';
  /** Epoch ms before which no request may be sent. */
  resumeAt: number;
  /** Whether the wait came from the response (reset / retry-after) or from our fallback. */
  source: 'x-ratelimit-reset' | 'retry-after' | 'fallback';
}

export interface ClassifyOptions {
  now: number;
  /** Wait used for a primary limit whose response lacks `x-ratelimit-reset` (old GitHub, some proxies). */
  primaryFallbackSec?: number;
  /** Minimum wait for a secondary limit without `retry-after`; GitHub asks for at least a minute. */
  secondaryFallbackSec?: number;
  /** How many secondary limits in a row we have hit; the fallback doubles with each. */
  secondaryStreak?: number;
}

export function header(h: Headers | undefined, name: string): string | undefined {
  if (!h) return undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

// Old responses say "abuse detection mechanism" for what GitHub now calls a secondary rate limit.
const SECONDARY_MESSAGE = /secondary rate|abuse detection|abuse-rate-limits/i;

/**
 * Decides whether a 403/429 is a rate limit, which kind, and until when to stay quiet.
 * Returns null for a 403 that is a real permission error.
 */
export function classifyRateLimit(
  status: number,
  headers: Headers | undefined,
  message: string,
  opts: ClassifyOptions,
): RateLimitVerdict | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = Number(header(headers, 'retry-after'));
  const remaining = header(headers, 'x-ratelimit-remaining');
  const reset = Number(header(headers, 'x-ratelimit-reset'));
  const secondaryFallback = Math.max(1, opts.secondaryFallbackSec ?? 60) * 2 ** Math.min(opts.secondaryStreak ?? 0, 4);

  if (SECONDARY_MESSAGE.test(message) || (remaining !== '0' && Number.isFinite(retryAfter) && retryAfter > 0)) {
    if (Number.isFinite(retryAfter) && retryAfter > 0)
      return { kind: 'secondary', resumeAt: opts.now + retryAfter * 1000, source: 'retry-after' };
    return { kind: 'secondary', resumeAt: opts.now + secondaryFallback * 1000, source: 'fallback' };
  }
  if (remaining === '0') {
    if (Number.isFinite(reset) && reset > 0)
      return { kind: 'primary', resumeAt: reset * 1000, source: 'x-ratelimit-reset' };
    return { kind: 'primary', resumeAt: opts.now + (opts.primaryFallbackSec ?? 60) * 1000, source: 'fallback' };
  }
  // A 429 with nothing else to go on is still GitHub asking us to slow down.
  if (status === 429) return { kind: 'secondary', resumeAt: opts.now + secondaryFallback * 1000, source: 'fallback' };
  return null;
}

/** Parses an RFC 8288 Link header into rel → URL. */
export function parseLink(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const part of value.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m) for (const rel of m[2].split(/\s+/)) out[rel] = m[1];
  }
  return out;
}
