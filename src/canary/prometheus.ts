/**
 * Prometheus as a metric source: one `/api/v1/query_range` per side per metric. Every failure (network,
 * timeout, non-success answer, empty result) surfaces as a `MetricSourceError` naming the query, which the
 * decision turns into a hold — never into a pass.
 */
import { TEMPLATE_PARAM, type PrometheusQueries, type PromTemplate } from '../config.ts';
import { DEFAULT_JUDGE, type MetricInput } from './judge.ts';
import { MAX_RANGE_POINTS, type MetricSpec, type PromQuery } from './schemas.ts';

export class MetricSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricSourceError';
  }
}

interface RangeAnswer {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; values?: [number, string][]; value?: [number, string] }[];
  };
}

export interface RangeOptions {
  startS: number;
  endS: number;
  stepS: number;
  timeoutMs?: number;
  /** Most points kept from one query, over all its series (default MAX_QUERY_POINTS). */
  maxPoints?: number;
  /** Largest answer read (default MAX_ANSWER_BYTES). */
  maxBytes?: number;
}

/**
 * One query's answer is bounded before it is parsed and after: a selector like `{__name__=~".+"}` returns
 * every series Prometheus has, up to 11,000 points each. A canary metric is one series per side (or a few
 * to pool); more points than a sent metric may carry (100,000) is refused with the count, as is an answer
 * over 16 MiB (about 350,000 points of `[t,"v"]` JSON), which is not read to the end.
 */
export const MAX_QUERY_POINTS = 100_000;
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > maxBytes) {
      await reader.cancel();
      throw new MetricSourceError(
        `Prometheus answer larger than ${maxBytes} bytes; aggregate the query to fewer series (sum, avg)`,
      );
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
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
    const why =
      err instanceof Error
        ? err.name === 'TimeoutError'
          ? 'timed out'
          : ((err.cause as Error | undefined)?.message ?? err.message)
        : String(err);
    throw new MetricSourceError(`Prometheus at ${url.origin} unreachable (${why})`);
  }
  let json: RangeAnswer;
  try {
    json = JSON.parse(await readCapped(res, o.maxBytes ?? MAX_ANSWER_BYTES)) as RangeAnswer;
  } catch (err) {
    if (err instanceof MetricSourceError) throw err;
    throw new MetricSourceError(`Prometheus answered ${res.status} with a non-JSON body`);
  }
  if (json.status !== 'success' || !json.data)
    throw new MetricSourceError(
      `Prometheus query failed (${res.status}): ${json.error ?? 'no data'} — query: ${query}`,
    );
  const maxPoints = o.maxPoints ?? MAX_QUERY_POINTS;
  let points = 0;
  for (const s of json.data.result) points += s.values?.length ?? (s.value ? 1 : 0);
  if (points > maxPoints)
    throw new MetricSourceError(
      `query returned ${json.data.result.length} series with ${points} points, more than the ${maxPoints} a metric may have; aggregate it (sum, avg) — query: ${query}`,
    );
  const out: number[] = [];
  for (const s of json.data.result) {
    for (const [, v] of s.values ?? (s.value ? [s.value] : [])) {
      const x = Number(v);
      if (Number.isFinite(x)) out.push(x);
    }
  }
  return out;
}

/** Prometheus duration ("15s", "1m30s", "500ms", "1h") in seconds; NaN when it is not one. */
export function parsePromDuration(d: string): number {
  const units: Record<string, number> = { y: 31_536_000, w: 604_800, d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 };
  const m = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.exec(d.trim());
  if (!m || d.trim() === '') return NaN;
  const parts = [m[2], m[4], m[6], m[8], m[10], m[12], m[14]];
  const keys = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  return parts.reduce((sum, v, i) => sum + (v ? Number(v) * units[keys[i]] : 0), 0);
}

/** Prometheus's own default scrape interval, assumed when neither the operator nor Prometheus says. */
export const DEFAULT_SCRAPE_S = 60;
const SCRAPE_CACHE_MS = 60_000;
/** A failed look-up is retried sooner: until then the 60 s default makes windows thin. */
const SCRAPE_RETRY_MS = 5_000;
const scrapeCache = new Map<string, { at: number; seconds: number | null }>();

/**
 * The largest `scrape_interval` in Prometheus's running configuration (`GET /api/v1/status/config`, whose
 * YAML names it for every scrape job). The largest, because a query may read any job's series: sampling
 * at it never takes the same scrape twice. Null when Prometheus does not say (e.g. a remote-read proxy).
 */
export async function scrapeIntervalOf(baseUrl: string, timeoutMs = 2000, nowMs = Date.now()): Promise<number | null> {
  const hit = scrapeCache.get(baseUrl);
  if (hit && nowMs - hit.at < (hit.seconds === null ? SCRAPE_RETRY_MS : SCRAPE_CACHE_MS)) return hit.seconds;
  let seconds: number | null = null;
  try {
    const url = new URL('api/v1/status/config', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const json = (await res.json()) as { status?: string; data?: { yaml?: string } };
    const found = [...(json.data?.yaml ?? '').matchAll(/^\s*scrape_interval:\s*"?([0-9a-z]+)"?\s*$/gm)]
      .map((m) => parsePromDuration(m[1]))
      .filter((x) => x > 0);
    if (found.length) seconds = Math.max(...found);
  } catch {
    seconds = null;
  }
  scrapeCache.set(baseUrl, { at: nowMs, seconds });
  return seconds;
}

/**
 * The range to ask for. A range query answers a point per `step`, each the newest sample within
 * Prometheus's lookback, so a step finer than the scrape interval repeats the last scrape (15 s scrape at
 * step 1 s: 5 real samples became 61 "independent" ones). The step is therefore never finer than the
 * scrape interval, and never so fine that the window needs more than 11,000 points (Prometheus refuses
 * those; an explicit step that would is refused at validation, see PrometheusWindow).
 */
export function planRange(
  windowS: number,
  stepS: number | undefined,
  scrapeS: number,
  source: 'operator' | 'prometheus' | 'assumed' = 'prometheus',
  minSamples = DEFAULT_JUDGE.minSamples,
): { stepS: number; note?: string } {
  let step = Math.max(stepS ?? scrapeS, scrapeS);
  if (Math.floor(windowS / step) + 1 > MAX_RANGE_POINTS) step = Math.ceil(windowS / (MAX_RANGE_POINTS - 1));
  const most = Math.floor(windowS / step) + 1;
  const interval =
    source === 'assumed'
      ? `Prometheus did not say its scrape interval, so ${scrapeS} s (its default) is assumed; set RISKGATE_PROMETHEUS_SCRAPE_INTERVAL_S`
      : `the scrape interval is ${scrapeS} s`;
  const notes: string[] = [];
  if (stepS !== undefined && step > stepS)
    notes.push(`step ${stepS} s raised to ${step} s (one sample per scrape; a finer step repeats scrapes)`);
  // Evidence too thin to judge is said here, where its cause is known: the window, not the release.
  if (most < minSamples)
    notes.push(
      `a ${windowS} s window holds at most ${most} samples per series, fewer than the ${minSamples} a metric needs: widen prometheus.window_s`,
    );
  return {
    stepS: step,
    note:
      notes.length || source === 'assumed'
        ? `Prometheus: ${interval}; ${notes.join('; ') || `step ${step} s`}`
        : undefined,
  };
}

export interface QueryProblem {
  path: string;
  message: string;
}

/**
 * What a request may ask of Prometheus (issue 16.6): at most `maxQueryMetrics` metrics with a query and
 * a window of at most `maxWindowS`; with templates configured, only a named template whose parameters are
 * all given (values are checked by the schema). Returns every problem, each with the request path.
 */
export function checkQueries(
  req: { metrics: MetricSpec[]; prometheus?: { window_s: number } },
  limits: PrometheusQueries,
): QueryProblem[] {
  const problems: QueryProblem[] = [];
  const withQuery = req.metrics.filter((m) => m.query).length;
  if (withQuery > limits.maxQueryMetrics)
    problems.push({
      path: 'metrics',
      message: `${withQuery} metrics with a Prometheus query; at most ${limits.maxQueryMetrics} per request (RISKGATE_PROMETHEUS_MAX_QUERY_METRICS)`,
    });
  if (req.prometheus && req.prometheus.window_s > limits.maxWindowS)
    problems.push({
      path: 'prometheus.window_s',
      message: `${req.prometheus.window_s} s is longer than the ${limits.maxWindowS} s allowed (RISKGATE_PROMETHEUS_MAX_WINDOW_S)`,
    });
  req.metrics.forEach((m, i) => {
    const q = m.query;
    if (!q) return;
    const at = `metrics.${i}.query`;
    const templates = limits.templates;
    if (q.template === undefined) {
      if (templates)
        problems.push({
          path: at,
          message: `raw PromQL is disabled here; name a template (${[...templates.keys()].slice(0, 20).join(', ')}) with its params`,
        });
      return;
    }
    const t = templates?.get(q.template);
    if (!templates || !t) {
      problems.push({
        path: `${at}.template`,
        message: templates
          ? `no template named "${q.template}" (there are: ${[...templates.keys()].slice(0, 20).join(', ')})`
          : 'no query templates are configured (RISKGATE_PROMETHEUS_QUERIES)',
      });
      return;
    }
    const params = q.params ?? new Map<string, string>();
    const missing = t.params.filter((p) => !params.has(p));
    if (missing.length)
      problems.push({ path: `${at}.params`, message: `template "${q.template}" needs ${missing.join(', ')}` });
    for (const k of params.keys())
      if (!t.params.includes(k))
        problems.push({
          path: `${at}.params.${k}`,
          message: `template "${q.template}" has no parameter "${k}" (it has: ${t.params.join(', ') || 'none'})`,
        });
  });
  return problems;
}

/** The PromQL pair of a query: as given, or its template filled in (checkQueries has vetted the names and values). */
export function resolveQuery(
  q: PromQuery,
  templates: ReadonlyMap<string, PromTemplate> | null,
): { canary: string; baseline: string } {
  if (q.template === undefined) return { canary: q.canary!, baseline: q.baseline! };
  const t = templates?.get(q.template);
  if (!t) throw new MetricSourceError(`no template named "${q.template}"`);
  const fill = (s: string) => s.replace(TEMPLATE_PARAM, (_m, name: string) => q.params?.get(name) ?? '');
  return { canary: fill(t.canary), baseline: fill(t.baseline) };
}

/** Query pairs in flight at once per decision (each pair is two range queries). */
const CONCURRENCY = 4;

/** Resolves metric specs with `query` into samples; returns the errors (and notes on sampling) instead of throwing. */
export async function fetchMetrics(
  baseUrl: string | undefined,
  specs: MetricSpec[],
  window: { window_s: number; step_s?: number },
  nowS = Date.now() / 1000,
  opts: { templates?: ReadonlyMap<string, PromTemplate> | null; scrapeIntervalS?: number | null } = {},
): Promise<{ metrics: MetricInput[]; errors: string[]; notes: string[] }> {
  const errors: string[] = [];
  const notes: string[] = [];
  let stepS = window.step_s ?? 1;
  if (baseUrl && specs.some((m) => m.query)) {
    const told = opts.scrapeIntervalS ?? null;
    const read = told === null ? await scrapeIntervalOf(baseUrl) : null;
    const plan = planRange(
      window.window_s,
      window.step_s,
      told ?? read ?? DEFAULT_SCRAPE_S,
      told !== null ? 'operator' : read !== null ? 'prometheus' : 'assumed',
    );
    stepS = plan.stepS;
    if (plan.note) notes.push(plan.note);
  }
  const o = { startS: nowS - window.window_s, endS: nowS, stepS };
  const metrics: MetricInput[] = new Array(specs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < specs.length; i = next++) {
      const m = specs[i];
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
      metrics[i] = base;
      if (!m.query) continue;
      if (!baseUrl) {
        errors.push(`${m.name}: a Prometheus query was given but no Prometheus URL is configured`);
        continue;
      }
      try {
        const q = resolveQuery(m.query, opts.templates ?? null);
        const [canary, baseline] = await Promise.all([
          queryRange(baseUrl, q.canary, o),
          queryRange(baseUrl, q.baseline, o),
        ]);
        metrics[i] = { ...base, canary, baseline };
      } catch (err) {
        errors.push(`${m.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, specs.length) }, worker));
  return { metrics, errors, notes };
}
