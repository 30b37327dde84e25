/**
 * Prometheus as a metric source: one `/api/v1/query_range` per side per metric. Every failure (network,
 * timeout, non-success answer, empty result) surfaces as a `MetricSourceError` naming the query, which the
 * decision turns into a hold — never into a pass.
 */
import type { MetricInput } from './judge.ts';
import type { MetricSpec } from './schemas.ts';

export class MetricSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricSourceError';
  }
}

interface RangeAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; values?: [number, string][]; value?: [number, string] }[] };
}

export interface RangeOptions {
  startS: number;
  endS: number;
  stepS: number;
  timeoutMs?: number;
}

/** Values of every series in the range (each series point is one sample); NaN/Inf points are dropped. */
export async function queryRange(baseUrl: string, query: string, o: RangeOptions): Promise<number[]> {
  const url = new URL('api/v1/query_range', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const body = new URLSearchParams({ query, start: String(o.startS), end: String(o.endS), step: String(o.stepS) });
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
    });
  } catch (err) {
    const why = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : (err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new MetricSourceError(`Prometheus at ${url.origin} unreachable (${why})`);
  }
  let json: RangeAnswer;
  try {
    json = (await res.json()) as RangeAnswer;
  } catch {
    throw new MetricSourceError(`Prometheus answered ${res.status} with a non-JSON body`);
  }
  if (json.status !== 'success' || !json.data) throw new MetricSourceError(`Prometheus query failed (${res.status}): ${json.error ?? 'no data'} — query: ${query}`);
  const out: number[] = [];
  for (const s of json.data.result) {
    for (const [, v] of s.values ?? (s.value ? [s.value] : [])) {
      const x = Number(v);
      if (Number.isFinite(x)) out.push(x);
    }
  }
  return out;
}

/** Resolves metric specs with `query` into samples; returns the errors instead of throwing. */
export async function fetchMetrics(
  baseUrl: string | undefined,
  specs: MetricSpec[],
  window: { window_s: number; step_s: number },
  nowS = Date.now() / 1000,
): Promise<{ metrics: MetricInput[]; errors: string[] }> {
  const errors: string[] = [];
  const metrics = await Promise.all(
    specs.map(async (m): Promise<MetricInput> => {
      const base: MetricInput = {
        name: m.name,
        direction: m.direction,
        critical: m.critical,
        weight: m.weight,
        max_change: m.max_change,
        threshold: m.threshold,
        margin: m.margin,
        baseline: m.baseline ?? [],
        canary: m.canary ?? [],
      };
      if (!m.query) return base;
      if (!baseUrl) {
        errors.push(`${m.name}: a Prometheus query was given but no Prometheus URL is configured`);
        return base;
      }
      const o = { startS: nowS - window.window_s, endS: nowS, stepS: window.step_s };
      try {
        const [canary, baseline] = await Promise.all([queryRange(baseUrl, m.query.canary, o), queryRange(baseUrl, m.query.baseline, o)]);
        return { ...base, canary, baseline };
      } catch (err) {
        errors.push(`${m.name}: ${err instanceof Error ? err.message : String(err)}`);
        return base;
      }
    }),
  );
  return { metrics, errors };
}
