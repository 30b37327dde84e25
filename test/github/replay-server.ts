/**
 * A GitHub-shaped HTTP server on 127.0.0.1 for tests and benchmarks.
 *  - synthetic mode serves a generated repository with Link paging (next links use the
 *    /repositories/{id}/... form, as GitHub does), ETags/304, and scripted 403/429/5xx faults, and
 *    records every request so tests can check that throttling was honoured;
 *  - fixture mode replays ../shared/fixtures/github/<scenario>/*.json as recorded.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { concludeRun, expectedJobs, type SyntheticRepo } from './synthetic.ts';

export type Fault =
  | { at: number; kind: 'primary'; resetInSec: number; status?: 403 | 429 }
  | { at: number; kind: 'secondary'; retryAfterSec: number; status?: 403 | 429 }
  | { at: number; kind: 'abuse'; retryAfterSec?: number }
  | { at: number; kind: '5xx'; count: number; status?: number };

export interface LoggedRequest {
  n: number;
  t: number;
  method: string;
  url: string;
  ifNoneMatch: string | null;
  status: number;
}

export interface Violation {
  n: number;
  url: string;
  t: number;
  notBefore: number;
}

export interface ReplayServer {
  /** Base URL to give Octokit (`http://127.0.0.1:port`). */
  url: string;
  log: LoggedRequest[];
  /** Requests that arrived before the reset / retry-after the server had announced. */
  violations: Violation[];
  /** Called for each incoming request (after it is logged); used to kill a client mid-run. */
  onRequest?: (n: number) => void;
  close(): Promise<void>;
}

const RATE_RESET = () => Math.floor(Date.now() / 1000) + 3600;

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: unknown): void {
  const text = body == null ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

/** Parses GitHub's `created=` qualifier: `>=X`, `>X`, `<=X`, `<X`, `A..B` (inclusive), or a bare date. */
export function createdPredicate(q: string | null): (ms: number) => boolean {
  if (!q) return () => true;
  const range = /^(.+)\.\.(.+)$/.exec(q);
  if (range) {
    const a = Date.parse(range[1]);
    const b = Date.parse(range[2]);
    return (t) => t >= a && t <= b;
  }
  const m = /^(>=|<=|>|<)?(.+)$/.exec(q)!;
  const v = Date.parse(m[2]);
  switch (m[1]) {
    case '>=':
      return (t) => t >= v;
    case '>':
      return (t) => t > v;
    case '<=':
      return (t) => t <= v;
    case '<':
      return (t) => t < v;
    default:
      return (t) => t >= v && t < v + 86_400_000;
  }
}

export interface SyntheticServerOptions {
  faults?: Fault[];
  /** Files per commit page (GitHub: 300). */
  filesPerPage?: number;
}

export async function startSyntheticServer(
  repo: SyntheticRepo,
  opts: SyntheticServerOptions = {},
): Promise<ReplayServer> {
  const faults = new Map((opts.faults ?? []).map((f) => [f.at, f]));
  const filesPerPage = opts.filesPerPage ?? 300;
  const log: LoggedRequest[] = [];
  const violations: Violation[] = [];
  let n = 0;
  let notBefore = 0; // epoch ms announced by the last limit
  let limitResponse: { status: number; headers: Record<string, string>; body: unknown } | null = null;
  let burst: { left: number; status: number } | null = null;
  let remaining = 5000;
  const reset = RATE_RESET();
  let base = '';

  const rateHeaders = (): Record<string, string> => ({
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(reset),
    'x-ratelimit-used': String(5000 - remaining),
    'x-ratelimit-resource': 'core',
  });
  const rw = (u: string) => u.replaceAll('https://api.github.com', base);

  function linkHeader(path: string, params: URLSearchParams, page: number, last: number): string {
    const at = (p: number) => {
      const q = new URLSearchParams(params);
      q.set('page', String(p));
      return `<${base}${path}?${q.toString()}>`;
    };
    const parts: string[] = [];
    if (page > 1) parts.push(`${at(page - 1)}; rel="prev"`);
    if (page < last) parts.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
    if (page > 1) parts.push(`${at(1)}; rel="first"`);
    return parts.join(', ');
  }

  function ok(req: IncomingMessage, res: ServerResponse, body: unknown, extra: Record<string, string> = {}): number {
    const text = rw(JSON.stringify(body));
    const etag = `W/"${createHash('sha256').update(text).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      // A 304 costs no rate limit.
      res.writeHead(304, { etag, ...rateHeaders(), ...extra });
      res.end();
      return 304;
    }
    remaining = Math.max(1, remaining - 1);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag, ...rateHeaders(), ...extra });
    res.end(text);
    return 200;
  }

  const notFound = (res: ServerResponse) => {
    send(res, 404, rateHeaders(), { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    return 404;
  };

  function route(req: IncomingMessage, res: ServerResponse, u: URL): number {
    const prefixes = [`/repos/${repo.full}`, `/repositories/${repo.repoId}`];
    const prefix = prefixes.find((p) => u.pathname === p || u.pathname.startsWith(p + '/'));
    if (!prefix) return notFound(res);
    const rest = u.pathname.slice(prefix.length);
    let m: RegExpExecArray | null;
    if (rest === '/actions/runs') {
      const pred = createdPredicate(u.searchParams.get('created'));
      const matched = repo.runs.filter((r) => pred(Date.parse(r.attempts[0].created_at as string)));
      const per = Math.min(100, Number(u.searchParams.get('per_page') ?? 30));
      const page = Math.max(1, Number(u.searchParams.get('page') ?? 1));
      const reachable = matched.slice(0, 1000); // GitHub's cap on any filtered listing
      const last = Math.max(1, Math.ceil(reachable.length / per));
      const items = reachable.slice((page - 1) * per, page * per).map((r) => r.attempts[r.attempts.length - 1]);
      const params = new URLSearchParams(u.searchParams);
      params.delete('page');
      const link = linkHeader(`/repositories/${repo.repoId}/actions/runs`, params, page, last);
      return ok(req, res, { total_count: matched.length, workflow_runs: items }, link ? { link } : {});
    }
    if ((m = /^\/actions\/runs\/(\d+)$/.exec(rest))) {
      const run = repo.byId.get(Number(m[1]));
      if (!run) return notFound(res);
      if (run.fetchesLeft > 0 && --run.fetchesLeft === 0) concludeRun(run);
      return ok(req, res, run.attempts[run.attempts.length - 1]);
    }
    if ((m = /^\/actions\/runs\/(\d+)\/attempts\/(\d+)$/.exec(rest))) {
      const run = repo.byId.get(Number(m[1]));
      const p = run?.attempts[Number(m[2]) - 1];
      return p ? ok(req, res, p) : notFound(res);
    }
    if ((m = /^\/actions\/runs\/(\d+)\/jobs$/.exec(rest))) {
      const run = repo.byId.get(Number(m[1]));
      if (!run) return notFound(res);
      const all = u.searchParams.get('filter') === 'all';
      const jobs = [];
      for (let a = all ? 1 : run.attempts.length; a <= run.attempts.length; a++) {
        for (const [k, j] of expectedJobs(run, a).entries()) {
          jobs.push({
            id: run.id * 100 + a * 10 + k,
            run_id: run.id,
            workflow_name: run.attempts[0].name,
            head_branch: run.attempts[0].head_branch,
            run_url: `https://api.github.com/repos/${repo.full}/actions/runs/${run.id}`,
            run_attempt: a,
            head_sha: run.attempts[0].head_sha,
            status: j.conclusion ? 'completed' : 'in_progress',
            conclusion: j.conclusion,
            name: j.name,
            steps: [],
            labels: ['ubuntu-latest'],
          });
        }
      }
      return ok(req, res, { total_count: jobs.length, jobs });
    }
    if ((m = /^\/commits\/([0-9a-f]{40})$/.exec(rest))) {
      const c = repo.commits.get(m[1]);
      if (!c) return (send(res, 422, rateHeaders(), { message: `No commit found for SHA: ${m[1]}` }), 422);
      const page = Math.max(1, Number(u.searchParams.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(Math.min(c.files.length, 3000) / filesPerPage));
      const files = c.files.slice((page - 1) * filesPerPage, Math.min(page * filesPerPage, 3000)).map((filename) => ({
        sha: createHash('sha1').update(filename).digest('hex'),
        filename,
        status: 'modified',
        additions: 1,
        deletions: 0,
        changes: 1,
      }));
      const params = new URLSearchParams(u.searchParams);
      params.delete('page');
      const link = last > 1 ? linkHeader(`/repositories/${repo.repoId}/commits/${c.sha}`, params, page, last) : '';
      return ok(
        req,
        res,
        {
          sha: c.sha,
          node_id: `C_${c.sha.slice(0, 12)}`,
          commit: { message: 'change', author: { name: 'a', email: 'a@example.com', date: '2024-01-01T00:00:00Z' } },
          url: `https://api.github.com/repos/${repo.full}/commits/${c.sha}`,
          html_url: `https://github.com/${repo.full}/commit/${c.sha}`,
          parents: [],
          stats: { total: c.additions + c.deletions, additions: c.additions, deletions: c.deletions },
          files,
        },
        link ? { link } : {},
      );
    }
    return notFound(res);
  }

  function fault(f: Fault, res: ServerResponse, now: number): number {
    if (f.kind === '5xx') {
      burst = { left: f.count - 1, status: f.status ?? 502 };
      send(res, burst.status, rateHeaders(), { message: 'Server Error' });
      return burst.status;
    }
    if (f.kind === 'primary') {
      const resetSec = Math.ceil(now / 1000) + f.resetInSec;
      notBefore = resetSec * 1000;
      limitResponse = {
        status: f.status ?? 403,
        headers: { ...rateHeaders(), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetSec) },
        body: {
          message: 'API rate limit exceeded for user ID 1.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        },
      };
    } else if (f.kind === 'secondary') {
      notBefore = now + f.retryAfterSec * 1000;
      limitResponse = {
        status: f.status ?? 403,
        headers: { ...rateHeaders(), 'retry-after': String(f.retryAfterSec) },
        body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      };
    } else {
      // The pre-2020 wording; without retry-after the client must fall back to its own wait.
      notBefore = now + (f.retryAfterSec ?? 0) * 1000;
      limitResponse = {
        status: 403,
        headers: f.retryAfterSec ? { 'retry-after': String(f.retryAfterSec) } : {},
        body: {
          documentation_url: 'https://developer.github.com/v3/#abuse-rate-limits',
          message: 'You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.',
        },
      };
    }
    send(res, limitResponse.status, limitResponse.headers, limitResponse.body);
    return limitResponse.status;
  }

  const srv = await listen((req, res) => {
    const t = Date.now();
    const num = ++n;
    const u = new URL(req.url ?? '/', 'http://x');
    let status: number;
    try {
      if (t < notBefore && limitResponse) {
        violations.push({ n: num, url: u.pathname + u.search, t, notBefore });
        send(res, limitResponse.status, limitResponse.headers, limitResponse.body);
        status = limitResponse.status;
      } else if (burst && burst.left > 0) {
        burst.left--;
        send(res, burst.status, rateHeaders(), { message: 'Server Error' });
        status = burst.status;
      } else if (faults.has(num)) {
        status = fault(faults.get(num)!, res, t);
      } else if (req.method !== 'GET') {
        status = notFound(res);
      } else {
        status = route(req, res, u);
      }
    } catch (err) {
      send(res, 500, {}, { message: String(err) });
      status = 500;
    }
    log.push({
      n: num,
      t,
      method: req.method ?? 'GET',
      url: u.pathname + u.search,
      ifNoneMatch: (req.headers['if-none-match'] as string) ?? null,
      status,
    });
    server.onRequest?.(num);
  });
  base = srv.url;
  const server: ReplayServer = { url: srv.url, log, violations, close: closer(srv.server) };
  return server;
}

export interface FixtureExchange {
  file: string;
  request: { method: string; path: string; query: Record<string, string>; headers?: Record<string, string> };
  response: { status: number; headers: Record<string, string | string[]>; body: unknown };
}

export function loadScenario(dir: string): FixtureExchange[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<FixtureExchange, 'file'>) }));
}

/** Replays one recorded scenario folder as-is, rewriting api.github.com to this server. */
export async function startFixtureServer(dir: string): Promise<ReplayServer & { unmatched: string[] }> {
  const exchanges = loadScenario(dir);
  const served = new Map<FixtureExchange, number>();
  const log: LoggedRequest[] = [];
  const unmatched: string[] = [];
  let n = 0;
  let base = '';
  const sameQuery = (a: Record<string, string>, b: URLSearchParams) => {
    const keys = new Set([...Object.keys(a), ...b.keys()]);
    for (const k of keys) if (a[k] !== (b.get(k) ?? undefined)) return false;
    return true;
  };
  const srv = await listen((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const matches = exchanges.filter(
      (x) =>
        x.request.method === req.method &&
        x.request.path === u.pathname &&
        sameQuery(x.request.query ?? {}, u.searchParams),
    );
    // Serve repeats in recorded order; once all are used, keep serving the last.
    const x = matches.find((m) => !served.has(m)) ?? matches[matches.length - 1];
    let status = 404;
    if (!x) {
      unmatched.push(`${req.method} ${u.pathname}${u.search}`);
      send(res, 404, {}, { message: 'no recording matches this request' });
    } else {
      served.set(x, (served.get(x) ?? 0) + 1);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(x.response.headers)) {
        if (k === 'status' || k === 'connection') continue;
        headers[k] = Array.isArray(v)
          ? v.map((s) => s.replaceAll('https://api.github.com', base))
          : v.replaceAll('https://api.github.com', base);
      }
      status = x.response.status;
      const body =
        x.response.body == null ? '' : JSON.stringify(x.response.body).replaceAll('https://api.github.com', base);
      res.writeHead(status, headers);
      res.end(status === 304 || status === 204 ? undefined : body);
    }
    log.push({
      n: ++n,
      t: Date.now(),
      method: req.method ?? 'GET',
      url: u.pathname + u.search,
      ifNoneMatch: (req.headers['if-none-match'] as string) ?? null,
      status,
    });
  });
  base = srv.url;
  return { url: srv.url, log, violations: [], unmatched, close: closer(srv.server) };
}
