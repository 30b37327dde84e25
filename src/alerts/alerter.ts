import { ConfigError } from '../config/error.ts';
import { redactOutboundUrl, redactUrlsIn } from '../redact.ts';
import { ALERT_KINDS, dashboardLink, jsonPayload, slackPayload, type Alert, type AlertKind } from './format.ts';

/**
 * Posts alerts to webhooks without ever making the caller wait: `alert()` only queues. Delivery retries
 * 5xx, 429 and network errors with exponential backoff and jitter, and gives up after a bounded number of
 * attempts; a 4xx means the receiver rejects the payload and is not retried. The same (kind, repo, commit)
 * alerts at most once per window, so a retried pipeline does not page anyone twice.
 */
export interface Webhook {
  url: string;
  format: 'slack' | 'json';
}

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export interface AlerterOptions {
  webhooks: Webhook[];
  dashboardUrl?: string;
  dedupeWindowMs?: number;
  retry?: Partial<RetryOptions>;
  timeoutMs?: number;
  /** Undelivered alerts kept at most; the oldest is dropped (and logged) beyond this. */
  maxQueue?: number;
  now?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
  log?: { warn(o: object, m?: string): void; info?(o: object, m?: string): void };
}

export interface AlertStats {
  queued: number;
  delivered: number;
  failed: number;
  deduplicated: number;
  retries: number;
  dropped: number;
}

export interface Alerter {
  alert(a: Alert): { queued: boolean; reason?: string };
  /** Resolves once every queued delivery finished (delivered or given up); for tests and shutdown. */
  flush(): Promise<void>;
  stats(): AlertStats;
  close(): void;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({ attempts: 5, baseMs: 500, maxMs: 30_000 });

/** `RISKGATE_ALERT_WEBHOOKS`: comma-separated `slack:https://…` or `json:https://…` (a bare URL is json). */
export function parseWebhooks(spec: string | undefined, variable = 'RISKGATE_ALERT_WEBHOOKS'): Webhook[] {
  const out: Webhook[] = [];
  for (const raw of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(slack|json):(.+)$/.exec(raw);
    const format = m ? (m[1] as Webhook['format']) : 'json';
    const url = m ? m[2] : raw;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(variable, `"${url.slice(0, 60)}" is not a URL (use slack:https://… or json:https://…)`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      throw new ConfigError(variable, `"${u.protocol}" webhooks are not supported (http or https only)`);
    out.push({ url: u.toString(), format });
  }
  return out;
}

export interface AlertConfig {
  webhooks: Webhook[];
  minScore: number;
  dashboardUrl?: string;
  dedupeWindowMs: number;
}

/** Delay before retry `attempt` (1-based): base·2^(attempt−1) plus up to as much again of jitter, capped. */
export function backoffMs(attempt: number, r: RetryOptions, random: () => number): number {
  const exp = Math.min(r.maxMs, r.baseMs * 2 ** (attempt - 1));
  return Math.min(r.maxMs, exp + random() * exp);
}

const retryable = (status: number) => status >= 500 || status === 429 || status === 408;

export function createAlerter(o: AlerterOptions): Alerter {
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...o.retry };
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const doFetch = o.fetch ?? fetch;
  const windowMs = o.dedupeWindowMs ?? 3_600_000;
  const maxQueue = o.maxQueue ?? 1000;
  const seen = new Map<string, number>();
  const inflight = new Set<Promise<void>>();
  // Pending backoff sleeps, so close() can cut them short (the delivery then gives up instead of hanging).
  const timers = new Map<NodeJS.Timeout, () => void>();
  const stats: AlertStats = { queued: 0, delivered: 0, failed: 0, deduplicated: 0, retries: 0, dropped: 0 };
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.set(t, resolve);
    });

  async function deliver(hook: Webhook, body: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let why: string;
      try {
        const res = await doFetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          stats.delivered++;
          return;
        }
        why = `HTTP ${res.status}`;
        if (!retryable(res.status)) {
          stats.failed++;
          o.log?.warn(
            { webhook: redactOutboundUrl(hook.url), status: res.status },
            'alert rejected by webhook; not retrying',
          );
          return;
        }
      } catch (err) {
        // fetch repeats a URL with credentials in its message; no URL of ours is logged past its origin.
        why = redactUrlsIn((err as Error).message);
      }
      if (attempt >= retry.attempts || closed) {
        stats.failed++;
        o.log?.warn({ webhook: redactOutboundUrl(hook.url), attempts: attempt, error: why }, 'alert delivery gave up');
        return;
      }
      stats.retries++;
      await sleep(backoffMs(attempt, retry, random));
    }
  }

  return {
    alert(a) {
      if (!ALERT_KINDS.includes(a.kind as AlertKind)) throw new TypeError(`unknown alert kind "${a.kind}"`);
      if (closed) return { queued: false, reason: 'closed' };
      const t = now();
      const key = `${a.kind}\u0000${a.repo ?? ''}\u0000${a.head_sha ?? ''}`;
      const last = seen.get(key);
      if (last !== undefined && t - last < windowMs) {
        stats.deduplicated++;
        return { queued: false, reason: 'duplicate within the dedupe window' };
      }
      seen.set(key, t);
      if (seen.size > 10_000) for (const [k, at] of seen) if (t - at >= windowMs) seen.delete(k);
      if (o.webhooks.length === 0) return { queued: false, reason: 'no webhooks configured' };
      if (inflight.size >= maxQueue) {
        stats.dropped++;
        o.log?.warn({ kind: a.kind, repo: a.repo }, 'alert queue full; alert dropped');
        return { queued: false, reason: 'queue full' };
      }
      const link = dashboardLink(o.dashboardUrl, a);
      const at = new Date(t).toISOString();
      stats.queued++;
      for (const hook of o.webhooks) {
        const body = JSON.stringify(hook.format === 'slack' ? slackPayload(a, link) : jsonPayload(a, link, at));
        // Started on the next tick so the caller's request finishes first.
        const p: Promise<void> = new Promise<void>((r) => setImmediate(r))
          .then(() => deliver(hook, body))
          .catch((err) =>
            o.log?.warn({ error: redactUrlsIn(String((err as Error)?.message ?? err)) }, 'alert delivery crashed'),
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      return { queued: true };
    },
    async flush() {
      while (inflight.size) await Promise.all([...inflight]);
    },
    stats: () => ({ ...stats }),
    close() {
      closed = true;
      for (const [t, resolve] of timers) {
        clearTimeout(t);
        resolve();
      }
      timers.clear();
    },
  };
}
