import type { RunRecord } from '../records/schema.ts';
import { failureLabel } from '../records/schema.ts';
import type { Store } from '../store/types.ts';
import type { GetResult, GitHubClient, Logger } from './client.ts';
import {
  failedJobsByAttempt,
  isCompleted,
  mapRun,
  mergeCommitPages,
  MAX_COMMIT_FILES,
  type CommitDetails,
  type GhCommitPage,
  type GhJob,
  type GhRun,
} from './map.ts';
import { header, parseLink } from './ratelimit.ts';

/** GitHub stops any filtered run listing at 1,000 results. */
export const LISTING_CAP = 1000;
/** The open-ended newest window is kept small so each incremental pass re-walks at most a few pages. */
export const OPEN_WINDOW_MAX = 300;
/** Where history starts when neither --since nor a cursor says otherwise (GitHub Actions' launch year). */
export const DEFAULT_SINCE = '2018-01-01T00:00:00Z';
const PER_PAGE = 100;

/** A `created=` window in whole epoch seconds; `to` is exclusive, null means "and everything newer". */
interface Window {
  from: number;
  to: number | null;
  /** The next page's URL (from the Link header) once the walk has started. */
  next: string | null;
}

/** The per-repo cursor, saved in the same transaction as each page's records. */
export interface IngestCursor {
  v: 1;
  /** Closed windows still to walk (a stack). */
  queue: Window[];
  /** The open window; its start only moves forward when it grows past OPEN_WINDOW_MAX. */
  open: Window;
  /** Run ids seen in progress, revisited until they conclude. */
  pending: number[];
  /** Newest created_at stored. */
  newest: string | null;
  /** Runs the listing said the history holds, for progress/ETA. */
  estimate: number | null;
}

export interface IngestProgress {
  repo: string;
  phase: 'listing' | 'revisiting';
  runs: number;
  commits: number;
  requests: number;
  estimate: number | null;
  rateRemaining: number | null;
  etaSec: number | null;
}

export interface IngestSummary {
  repo: string;
  runs: number;
  inserted: number;
  updated: number;
  unchanged: number;
  invalid: number;
  commitsFetched: number;
  pages: number;
  notModified: number;
  requests: number;
  conditionalRequests: number;
  pending: number;
  truncatedWindows: number;
  seconds: number;
  complete: boolean;
}

export interface IngestOptions {
  client: GitHubClient;
  store: Store;
  repo: string;
  since?: string;
  jobs?: boolean;
  onProgress?: (p: IngestProgress) => void;
  signal?: AbortSignal;
  log?: Logger;
  now?: () => number;
}

export const cursorKey = (repo: string) => `ingest:cursor:${repo}`;
export const commitKey = (repo: string, sha: string) => `commit:${repo}:${sha}`;
export const etagKey = (url: string) => `etag:${url}`;
export const jobsKey = (repo: string, runId: string, attempt: number) => `failed_jobs:${repo}:${runId}:${attempt}`;

const iso = (sec: number) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

export function createdFilter(w: Pick<Window, 'from' | 'to'>): string {
  // GitHub's `a..b` range is inclusive; timestamps have whole-second precision.
  return w.to == null ? `>=${iso(w.from)}` : `${iso(w.from)}..${iso(w.to - 1)}`;
}

export function firstPageUrl(repo: string, w: Pick<Window, 'from' | 'to'>): string {
  const q = new URLSearchParams({ per_page: String(PER_PAGE), created: createdFilter(w) });
  return `/repos/${repo}/actions/runs?${q.toString()}`;
}

/** Etags and cursor keys must not depend on which host we talk to (GHES, a replay server). */
export function relativeUrl(url: string): string {
  if (!/^https?:\/\//.test(url)) return url;
  const u = new URL(url);
  // GHES serves the API under /api/v3; keep the path the API itself sees.
  return u.pathname.replace(/^\/api\/v3(?=\/)/, '') + u.search;
}

export class IngestAbortedError extends Error {
  constructor() {
    super('ingest interrupted; the cursor is saved, re-run to resume');
    this.name = 'IngestAbortedError';
  }
}

interface RunsPage {
  total_count: number;
  workflow_runs: GhRun[];
}

/** What materialise() fetched for one listing page or revisited run, ready to be written in one transaction. */
interface Materialised {
  records: RunRecord[];
  writes: [string, string][];
  stillRunning: number[];
  concluded: number[];
  fresh: Map<string, CommitDetails>;
}

/**
 * Pulls a repository's workflow runs (+ commits, + failed jobs when asked) into the store. Incremental and
 * resumable: each page's records, commit cache entries, ETag and the advanced cursor commit together.
 */
export async function ingestRepo(o: IngestOptions): Promise<IngestSummary> {
  return new RepoIngest(o).run();
}

/**
 * One ingest pass over one repository. The cursor (saved with every page) is the only state that outlives the
 * pass; the rest is the pass's summary, progress counters and commit memo. Steps, in run() order: walk the
 * closed windows, then the open one (splitting any window GitHub would truncate), then revisit runs that were
 * still in progress.
 */
class RepoIngest {
  private readonly client: GitHubClient;
  private readonly store: Store;
  private readonly repo: string;
  private readonly now: () => number;
  private readonly t0: number;
  private readonly req0: GitHubClient['stats'];
  private readonly sum: IngestSummary;
  private readonly cursor: IngestCursor;
  private readonly commitMemo = new Map<string, CommitDetails>();
  private commitsThisPass = 0;
  private runsThisPass = 0;

  constructor(private readonly o: IngestOptions) {
    this.client = o.client;
    this.store = o.store;
    this.repo = o.repo;
    this.now = o.now ?? Date.now;
    this.t0 = this.now();
    this.req0 = { ...this.client.stats };
    this.sum = {
      repo: o.repo,
      runs: 0,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      invalid: 0,
      commitsFetched: 0,
      pages: 0,
      notModified: 0,
      requests: 0,
      conditionalRequests: 0,
      pending: 0,
      truncatedWindows: 0,
      seconds: 0,
      complete: false,
    };
    this.cursor = this.loadCursor();
  }

  async run(): Promise<IngestSummary> {
    await this.walkWindows();
    await this.revisitPending();
    return this.finish();
  }

  /** The saved cursor, or a fresh one from --since; an earlier --since than the cursor queues the gap. */
  private loadCursor(): IngestCursor {
    const { store, repo, o } = this;
    const saved = store.getState(cursorKey(repo));
    const cursor: IngestCursor = saved
      ? (JSON.parse(saved) as IngestCursor)
      : {
          v: 1,
          queue: [],
          open: { from: Math.floor(Date.parse(o.since ?? DEFAULT_SINCE) / 1000), to: null, next: null },
          pending: [],
          newest: null,
          estimate: null,
        };
    // A later --since than the cursor has no effect (never skip stored history); an earlier one widens it.
    if (saved && o.since) {
      const s = Math.floor(Date.parse(o.since) / 1000);
      const oldest = Math.min(cursor.open.from, ...cursor.queue.map((w) => w.from));
      if (s < oldest && !store.getState(`ingest:since:${repo}:${s}`)) {
        cursor.queue.push({ from: s, to: oldest, next: null });
        store.setState(`ingest:since:${repo}:${s}`, '1');
      }
    }
    return cursor;
  }

  /** Closed windows first (a stack), then the open one; a split of the open window queues more closed ones. */
  private async walkWindows(): Promise<void> {
    const cursor = this.cursor;
    for (;;) {
      while (cursor.queue.length > 0) {
        await this.walk(cursor.queue[cursor.queue.length - 1], false);
      }
      const r = await this.walk(cursor.open, true);
      if (r !== 'split') break;
    }
  }

  /** Walks one window page by page. Returns 'split' when the window had to be halved first. */
  private async walk(w: Window, isOpen: boolean): Promise<'done' | 'split' | 'unchanged'> {
    const { client, repo, sum, cursor } = this;
    for (;;) {
      this.checkAbort();
      const starting = w.next == null;
      const url = w.next ?? firstPageUrl(repo, w);
      const key = etagKey(relativeUrl(url));
      const known = isOpen ? this.store.getState(key) : undefined;
      const prior = known ? (JSON.parse(known) as { etag: string; next: string | null }) : undefined;
      const res = await client.get<RunsPage>(url, { etag: prior?.etag });
      sum.pages++;
      let next: string | null;
      if (res.status === 304) {
        sum.notModified++;
        // The newest page is unchanged, so nothing was created since: the whole window is current.
        if (starting) return 'unchanged';
        next = prior?.next ?? null;
      } else {
        const page = res.data as RunsPage;
        if (starting && this.splitIfTruncated(w, isOpen, page)) return 'split';
        next = parseLink(header(res.headers, 'link')).next ?? null;
        const m = await this.materialise(page.workflow_runs);
        const etag = header(res.headers, 'etag');
        w.next = next;
        if (!next && !isOpen) cursor.queue.splice(cursor.queue.indexOf(w), 1);
        const extra: [string, string][] = isOpen && etag ? [[key, JSON.stringify({ etag, next })]] : [];
        if (!next && isOpen) w.next = null;
        this.commitPage(m, extra);
        this.progress('listing');
        if (!next) return 'done';
        continue;
      }
      w.next = next;
      if (!next) {
        if (isOpen) w.next = null;
        this.saveCursor();
        return 'done';
      }
      this.saveCursor();
    }
  }

  /**
   * On a window's first page: halves the window (and saves the cursor) when GitHub would cut its listing
   * short, returning true; else notes the history's size and warns about a window that cannot be halved.
   */
  private splitIfTruncated(w: Window, isOpen: boolean, page: RunsPage): boolean {
    const cursor = this.cursor;
    if (w.to == null && cursor.estimate == null) cursor.estimate = page.total_count;
    const limit = isOpen ? OPEN_WINDOW_MAX : LISTING_CAP;
    const end = w.to ?? Math.ceil(this.now() / 1000);
    if (page.total_count >= limit && end - w.from > 1) {
      const mid = w.from + Math.floor((end - w.from) / 2);
      if (isOpen) {
        cursor.queue.push({ from: w.from, to: mid, next: null });
        cursor.open = { from: mid, to: null, next: null };
      } else {
        const i = cursor.queue.indexOf(w);
        cursor.queue.splice(i, 1, { from: w.from, to: mid, next: null }, { from: mid, to: w.to, next: null });
      }
      this.saveCursor();
      return true;
    }
    if (page.total_count >= LISTING_CAP) {
      this.sum.truncatedWindows++;
      this.o.log?.warn({
        event: 'github_window_truncated',
        repo: this.repo,
        window: createdFilter(w),
        total: page.total_count,
      });
    }
    return false;
  }

  /** Runs that were still going when listed: ask for each until it concludes. */
  private async revisitPending(): Promise<void> {
    const { client, store, repo, sum } = this;
    for (const id of [...this.cursor.pending]) {
      this.checkAbort();
      const url = `/repos/${repo}/actions/runs/${id}`;
      const key = etagKey(url);
      const known = store.getState(key);
      const prior = known ? (JSON.parse(known) as { etag: string }) : undefined;
      const res = await client.get<GhRun>(url, { etag: prior?.etag });
      if (res.status === 304 || !res.data) {
        sum.notModified += res.status === 304 ? 1 : 0;
        continue;
      }
      const m = await this.materialise([res.data]);
      const etag = header(res.headers, 'etag');
      const done = isCompleted(res.data);
      const extra: [string, string][] = etag && !done ? [[key, JSON.stringify({ etag })]] : [];
      this.commitPage(m, extra);
      if (done) store.deleteState(key);
      this.progress('revisiting');
    }
  }

  private finish(): IngestSummary {
    const { sum, client, req0 } = this;
    sum.pending = this.cursor.pending.length;
    sum.requests = client.stats.requests - req0.requests;
    sum.conditionalRequests = client.stats.conditional - req0.conditional;
    sum.seconds = (this.now() - this.t0) / 1000;
    sum.complete = true;
    this.o.log?.info({ event: 'github_ingest_done', ...sum });
    return sum;
  }

  /** Turns one listing page (or one revisited run) into records; fetches what they need first, writes nothing. */
  private async materialise(runs: GhRun[]): Promise<Materialised> {
    const { repo, o } = this;
    const records: RunRecord[] = [];
    const fresh = new Map<string, CommitDetails>();
    const writes: [string, string][] = [];
    const stillRunning: number[] = [];
    const concluded: number[] = [];
    for (const run of runs) {
      this.checkAbort();
      const commit = run.head_sha ? await this.commitDetails(run.head_sha, fresh) : null;
      const attempts = [run];
      const first = mapRun(repo, run, commit);
      if (first.ok && (run.run_attempt ?? 1) > 1)
        attempts.push(...(await this.previousAttempts(run, first.record.workflow)));
      const mapped: RunRecord[] = [];
      for (const a of attempts) {
        const aCommit =
          a.head_sha === run.head_sha ? commit : a.head_sha ? await this.commitDetails(a.head_sha, fresh) : null;
        const m = a === run ? first : mapRun(repo, a, aCommit);
        if (m.ok) mapped.push(m.record);
        else {
          this.sum.invalid++;
          o.log?.warn({
            event: 'github_run_invalid',
            repo,
            run_id: a.id,
            attempt: a.run_attempt ?? 1,
            reason: m.error,
          });
        }
      }
      (isCompleted(run) ? concluded : stillRunning).push(run.id);
      if (o.jobs && isCompleted(run)) await this.failedJobs(run, mapped, writes);
      records.push(...mapped);
    }
    for (const [sha, c] of fresh) writes.push([commitKey(repo, sha), JSON.stringify(c)]);
    return { records, writes, stillRunning, concluded, fresh };
  }

  /** Writes a materialised page, its extra state and the advanced cursor in one transaction. */
  private commitPage(m: Materialised, extra: [string, string][]): void {
    const { cursor, store, sum } = this;
    const pending = new Set(cursor.pending);
    for (const id of m.concluded) pending.delete(id);
    for (const id of m.stillRunning) pending.add(id);
    cursor.pending = [...pending].sort((a, b) => a - b);
    for (const r of m.records) if (!cursor.newest || r.created_at > cursor.newest) cursor.newest = r.created_at;
    store.transaction(() => {
      const res = store.upsertRuns(m.records);
      sum.inserted += res.inserted;
      sum.updated += res.updated;
      sum.unchanged += res.unchanged;
      for (const [k, v] of [...m.writes, ...extra]) store.setState(k, v);
      store.setState(cursorKey(this.repo), JSON.stringify(cursor));
    });
    for (const [sha, c] of m.fresh) this.commitMemo.set(sha, c);
    sum.runs += m.records.length;
    this.runsThisPass += m.records.length;
  }

  private saveCursor(): void {
    this.store.setState(cursorKey(this.repo), JSON.stringify(this.cursor));
  }

  private async commitDetails(sha: string, fresh: Map<string, CommitDetails>): Promise<CommitDetails> {
    const { store, repo, client } = this;
    const memo = this.commitMemo.get(sha) ?? fresh.get(sha);
    if (memo) return memo;
    const cached = store.getState(commitKey(repo, sha));
    if (cached) {
      const c = JSON.parse(cached) as CommitDetails;
      this.commitMemo.set(sha, c);
      return c;
    }
    const pages: GhCommitPage[] = [];
    let url: string | undefined = `/repos/${repo}/commits/${sha}`;
    // Files beyond 300 come on further pages (Link header), up to 3,000 in all.
    while (url && pages.length * 300 < MAX_COMMIT_FILES) {
      this.checkAbort();
      const res: GetResult<GhCommitPage> = await client.get<GhCommitPage>(url);
      pages.push(res.data as GhCommitPage);
      url = parseLink(header(res.headers, 'link')).next;
    }
    const c = mergeCommitPages(pages);
    this.commitsThisPass++;
    this.sum.commitsFetched++;
    fresh.set(sha, c);
    return c;
  }

  /** Earlier attempts of a re-run, newest first, following previous_attempt_url until one is already stored. */
  private async previousAttempts(run: GhRun, workflow: string): Promise<GhRun[]> {
    const out: GhRun[] = [];
    let prev = run.previous_attempt_url;
    let attempt = (run.run_attempt ?? 1) - 1;
    while (prev && attempt >= 1) {
      if (this.store.getRun(this.repo, workflow, String(run.id), attempt)) break;
      this.checkAbort();
      const res = await this.client.get<GhRun>(prev);
      if (!res.data) break;
      out.push(res.data);
      prev = res.data.previous_attempt_url;
      attempt = (res.data.run_attempt ?? attempt) - 1;
    }
    return out;
  }

  private async failedJobs(run: GhRun, records: RunRecord[], writes: [string, string][]): Promise<void> {
    const { store, repo } = this;
    const needed = records.filter(
      (r) => failureLabel(r.conclusion) === 1 && !store.getState(jobsKey(repo, r.run_id, r.run_attempt)),
    );
    if (needed.length === 0) return;
    const jobs: GhJob[] = [];
    for await (const page of this.client.octokit.paginate.iterator(
      'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
      {
        owner: repo.split('/')[0],
        repo: repo.split('/')[1],
        run_id: run.id,
        filter: 'all',
        per_page: 100,
      },
    )) {
      jobs.push(...(page.data as unknown as GhJob[]));
    }
    const byAttempt = failedJobsByAttempt(jobs);
    for (const r of needed)
      writes.push([jobsKey(repo, r.run_id, r.run_attempt), JSON.stringify(byAttempt.get(r.run_attempt) ?? [])]);
  }

  private progress(phase: IngestProgress['phase']): void {
    const { o, cursor } = this;
    if (!o.onProgress) return;
    const elapsed = (this.now() - this.t0) / 1000;
    const done = this.runsThisPass;
    const left = cursor.estimate != null ? Math.max(0, cursor.estimate - this.store.countRuns(this.repo)) : null;
    o.onProgress({
      repo: this.repo,
      phase,
      runs: done,
      commits: this.commitsThisPass,
      requests: this.client.stats.requests - this.req0.requests,
      estimate: cursor.estimate,
      rateRemaining: this.client.rate.remaining,
      etaSec: left != null && done > 0 ? Math.round((elapsed / done) * left) : null,
    });
  }

  private checkAbort(): void {
    if (this.o.signal?.aborted) throw new IngestAbortedError();
  }
}
