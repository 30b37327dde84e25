import { failureLabel, type RunRecord } from '../records/schema.ts';

/**
 * Bounded windows: training and serving must see exactly the same history, and serving can only afford to
 * load a bounded slice of it from the store. Every history feature is therefore defined over these windows.
 */
export const REPO_WINDOW = 1000;
export const SCOPE_SCAN = 200;
export const AUTHOR_WINDOW = 500;
/**
 * Created runs the activity counts (runs_24h, runs_1h) look back over: what serving loads (the outcome window
 * plus slack for runs not known yet). Without the cap a repo with more runs a day than that would count more
 * in training than serving can see.
 */
export const CREATED_WINDOW = REPO_WINDOW + 300;
/**
 * What a live history keeps: twice the windows (a cache folding new runs in checks that enough outcomes
 * are known after the oldest run it dropped), trimmed every TRIM_SLACK additions. A long-running server's
 * memory then stays flat; trimming only on doubling made every history a sawtooth of a window's size.
 */
const KEEP_OUTCOMES = 2 * REPO_WINDOW;
const KEEP_CREATED = 2 * REPO_WINDOW;
const TRIM_SLACK = 128;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/**
 * When a run's outcome becomes known to anyone scoring later runs. Without `completed_at` we assume it was
 * known right after it was created, so it counts for every run created strictly later (the leakage rule).
 */
export function knownAtMs(r: Pick<RunRecord, 'created_at' | 'completed_at'>): number {
  return knownAtFromMs(Date.parse(r.created_at), r.completed_at == null ? null : Date.parse(r.completed_at));
}

/** knownAtMs on epoch-ms times (the store's columns). */
export function knownAtFromMs(createdMs: number, completedMs: number | null): number {
  return completedMs == null || Number.isNaN(completedMs) ? createdMs + 1 : Math.max(completedMs, createdMs + 1);
}

/** Order in which outcomes become known; ties broken by creation order, exactly as the trainer's heap does. */
export function compareKnownOrder(a: RunRecord, b: RunRecord): number {
  return knownAtMs(a) - knownAtMs(b) || compareCreatedOrder(a, b);
}

/** The canonical run order: the store's (created_at, run_id, run_attempt). */
export function compareCreatedOrder(a: RunRecord, b: RunRecord): number {
  const t = Date.parse(a.created_at) - Date.parse(b.created_at);
  if (t !== 0) return t;
  if (a.run_id !== b.run_id) return a.run_id < b.run_id ? -1 : 1;
  return a.run_attempt - b.run_attempt;
}

const scopeKey = (r: Pick<RunRecord, 'workflow' | 'head_branch'>): string =>
  `${r.workflow}\u0000${r.head_branch ?? ''}`;

/**
 * Which change a run built: its commit sha, or — for histories without shas — its exact change size, which
 * in practice identifies the same commit built twice (push + pull_request builds, restarts). '' = unknown.
 */
export function changeSignature(r: Pick<RunRecord, 'head_sha' | 'files_changed' | 'additions' | 'deletions'>): string {
  if (r.head_sha) return r.head_sha;
  if (r.files_changed == null || r.additions == null || r.files_changed === 0) return '';
  return `#${r.files_changed}:${r.additions}:${r.deletions ?? ''}`;
}

/** Outcomes of one repository in the order they became known, trimmed to REPO_WINDOW. */
export class RepoHistory {
  // Parallel arrays; `cum[i]` counts failures in entries [0, i) so window rates are O(log n).
  private labels: number[] = [];
  private knownMs: number[] = [];
  private scopes: string[] = [];
  private events: (string | null)[] = [];
  private sigs: string[] = [];
  private cum: number[] = [0];
  private failCreatedMs: number[] = [];
  private lastFailIdx = -1;
  private created: number[] = [];
  private createdChurn: number[] = [];
  private readonly authors = new Map<string, number[]>();

  constructor(private readonly trackAuthors = true) {}

  /** Records that a run was created (for activity features), whatever its outcome. */
  addCreated(createdMs: number, churn = NaN): void {
    this.created.push(createdMs);
    this.createdChurn.push(churn);
    if (this.created.length > KEEP_CREATED + TRIM_SLACK) {
      this.created = this.created.slice(-KEEP_CREATED);
      this.createdChurn = this.createdChurn.slice(-KEEP_CREATED);
    }
  }

  /** Feeds a finished run, in known order. Runs without a learnable outcome are ignored. */
  addOutcome(r: RunRecord): void {
    const label = failureLabel(r.conclusion);
    if (label === null) return;
    const known = knownAtMs(r);
    this.labels.push(label);
    this.knownMs.push(known);
    this.scopes.push(scopeKey(r));
    this.events.push(r.event);
    this.sigs.push(changeSignature(r));
    this.cum.push(this.cum[this.cum.length - 1] + label);
    this.failCreatedMs.push(label === 1 ? Date.parse(r.created_at) : NaN);
    if (label === 1) this.lastFailIdx = this.labels.length - 1;
    if (this.trackAuthors && r.actor) this.addAuthorOutcome(r.actor, label);
    if (this.labels.length > KEEP_OUTCOMES + TRIM_SLACK) this.trim();
  }

  /** Drops what is known about an actor (a cache reloads it). */
  forgetAuthor(actor: string): void {
    this.authors.delete(actor);
  }

  /** How many kept outcomes became known strictly after `ms` (at most the 2·REPO_WINDOW kept). */
  countKnownAfter(ms: number): number {
    let lo = 0;
    let hi = this.knownMs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.knownMs[mid] <= ms) lo = mid + 1;
      else hi = mid;
    }
    return this.knownMs.length - lo;
  }

  addAuthorOutcome(actor: string, label: number): void {
    let a = this.authors.get(actor);
    if (!a) this.authors.set(actor, (a = []));
    a.push(label);
    if (a.length > AUTHOR_WINDOW + TRIM_SLACK) a.splice(0, a.length - AUTHOR_WINDOW);
  }

  private trim(): void {
    const drop = this.labels.length - KEEP_OUTCOMES;
    this.labels = this.labels.slice(drop);
    this.knownMs = this.knownMs.slice(drop);
    this.scopes = this.scopes.slice(drop);
    this.events = this.events.slice(drop);
    this.sigs = this.sigs.slice(drop);
    this.cum = this.cum.slice(drop);
    this.failCreatedMs = this.failCreatedMs.slice(drop);
    this.lastFailIdx -= drop;
  }

  /** Index of the first kept entry (entries before it are outside REPO_WINDOW). */
  private get start(): number {
    return Math.max(0, this.labels.length - REPO_WINDOW);
  }

  get size(): number {
    return this.labels.length - this.start;
  }

  lastOutcome(): number {
    return this.size === 0 ? NaN : this.labels[this.labels.length - 1];
  }

  /** Outcome known before the last one (NaN with fewer than two). */
  previousOutcome(): number {
    return this.size < 2 ? NaN : this.labels[this.labels.length - 2];
  }

  consecutiveSuccesses(): number {
    if (this.size === 0) return NaN;
    let k = 0;
    for (let i = this.labels.length - 1; i >= this.start && this.labels[i] === 0; i--) k++;
    return k;
  }

  consecutiveFailures(): number {
    if (this.size === 0) return NaN;
    let k = 0;
    for (let i = this.labels.length - 1; i >= this.start && this.labels[i] === 1; i--) k++;
    return k;
  }

  /** Failure rate over the last n known outcomes (NaN with none). */
  rateLast(n: number): number {
    const end = this.labels.length;
    const from = Math.max(this.start, end - n);
    return end === from ? NaN : (this.cum[end] - this.cum[from]) / (end - from);
  }

  /** Failure rate among outcomes that became known in (nowMs - spanMs, nowMs]. */
  rateSince(nowMs: number, spanMs: number): number {
    const end = this.labels.length;
    const from = Math.max(this.start, lowerBound(this.knownMs, nowMs - spanMs + 1, this.start, end));
    return end === from ? NaN : (this.cum[end] - this.cum[from]) / (end - from);
  }

  hoursSinceLastFailure(nowMs: number): number {
    // A failure that has left the window is forgotten, as it would be by the serving-time history.
    if (this.lastFailIdx < this.start) return NaN;
    return (nowMs - this.failCreatedMs[this.lastFailIdx]) / HOUR;
  }

  /** Last outcome, streak and rate among the recent outcomes of runs sharing a scope (workflow+branch or event). */
  scoped(match: (i: number) => boolean, rateN: number): { last: number; streak: number; rate: number; seen: number } {
    let last = NaN;
    let streak = 0;
    let streakOpen = true;
    let seen = 0;
    let fails = 0;
    const stop = Math.max(this.start, this.labels.length - SCOPE_SCAN);
    for (let i = this.labels.length - 1; i >= stop; i--) {
      if (!match(i)) continue;
      const l = this.labels[i];
      if (seen === 0) last = l;
      if (streakOpen) l === 1 ? streak++ : (streakOpen = false);
      if (seen < rateN) fails += l;
      seen++;
      if (seen >= rateN && !streakOpen) break;
    }
    return { last, streak: seen === 0 ? NaN : streak, rate: seen === 0 ? NaN : fails / Math.min(seen, rateN), seen };
  }

  scopeOf(i: number): string {
    return this.scopes[i];
  }
  sigOf(i: number): string {
    return this.sigs[i];
  }
  eventOf(i: number): string | null {
    return this.events[i];
  }

  author(actor: string | null): { rate: number; runs: number } {
    const a = actor ? this.authors.get(actor) : undefined;
    if (!a || a.length === 0) return { rate: NaN, runs: 0 };
    const from = Math.max(0, a.length - AUTHOR_WINDOW);
    let f = 0;
    for (let i = from; i < a.length; i++) f += a[i];
    return { rate: f / (a.length - from), runs: a.length - from };
  }

  /** Runs created strictly before nowMs within spanMs (among the last CREATED_WINDOW), and hours since the latest. */
  activity(nowMs: number, spanMs: number): { count: number; hoursSincePrev: number; prevChurn: number } {
    const end = lowerBound(this.created, nowMs, 0, this.created.length);
    const from = Math.max(end - CREATED_WINDOW, lowerBound(this.created, nowMs - spanMs, 0, end));
    return {
      count: end - from,
      hoursSincePrev: end === 0 ? NaN : (nowMs - this.created[end - 1]) / HOUR,
      prevChurn: end === 0 ? NaN : this.createdChurn[end - 1],
    };
  }

  /** Median churn of the last n runs created before nowMs that have a known size (NaN when none). */
  medianChurn(nowMs: number, n: number): number {
    const end = lowerBound(this.created, nowMs, 0, this.created.length);
    const xs: number[] = [];
    for (let i = end - 1; i >= 0 && xs.length < n; i--)
      if (!Number.isNaN(this.createdChurn[i])) xs.push(this.createdChurn[i]);
    if (xs.length === 0) return NaN;
    xs.sort((a, b) => a - b);
    return xs[xs.length >> 1];
  }
}

/** First index in [lo, hi) whose value is >= x (arr sorted ascending). */
function lowerBound(arr: number[], x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export { scopeKey };
