import { failureLabel, type RunRecord } from '../records/schema.ts';
import { StoreUnavailableError, type ActorOutcomeRow, type Store } from '../store/types.ts';
import { AuthorRows } from './author-rows.ts';
import { FEATURE_COUNT, featurize, runChurn, type FeatureOptions } from './definition.ts';
import { AUTHOR_WINDOW, CREATED_WINDOW, REPO_WINDOW, RepoHistory, knownAtFromMs, knownAtMs } from './history.ts';

/** Extra rows loaded beyond the outcome window, to cover runs that were created earlier but are not known yet. */
const SLACK = CREATED_WINDOW - REPO_WINDOW;
/** How many runs the serving-time history loads (the most recent ones created before the request). */
const LOADED = CREATED_WINDOW;
/** How many runs `featurize`'s median churn takes. */
const MEDIAN_RUNS = 50;
/** How many runs the author features are taken from (the most recent ones the author created before the request). */
const AUTHOR_ROWS = AUTHOR_WINDOW + SLACK;
/**
 * How many of those rows all cache entries together keep, so a write by an author updates them in memory
 * instead of the next check reloading up to AUTHOR_ROWS rows from the store (29 B each; beyond it the oldest
 * entries' rows are let go and reloaded on demand).
 */
const AUTHOR_ROW_BUDGET = 200_000;

/**
 * Serving-time features for a run that is about to start: rebuilds the same bounded history the trainer
 * had at that instant from the store, then calls the one feature definition.
 */
export function liveFeatures(r: RunRecord, store: Store, opts: FeatureOptions): Float64Array {
  const created = Date.parse(r.created_at);
  const h = historyAt(created, store.recentRuns(r.repo, r.created_at, LOADED), false);
  if (r.actor) {
    for (const label of authorLabels(created, store.recentOutcomesByActor(r.repo, r.actor, r.created_at, AUTHOR_ROWS)))
      h.addAuthorOutcome(r.actor, label);
  }
  const out = new Float64Array(FEATURE_COUNT);
  featurize(r, h, opts, out, 0);
  return out;
}

/** One loaded run, reduced to what ordering and the cache's bookkeeping need. */
interface Slot {
  workflow: string;
  id: string;
  attempt: number;
  actor: string | null;
  /** created_at in ms */
  createdMs: number;
  /** When its outcome is known (knownAtMs), NaN when it has no learnable outcome. */
  knownMs: number;
  /** Its outcome is in the history (known at or before the build instant). */
  inHistory: boolean;
  /** runChurn (NaN when unknown), as the history's created list holds it. */
  churn: number;
}

/** What created order compares of a run. */
type CreatedKey = Pick<Slot, 'createdMs' | 'id' | 'attempt'>;
/** What known order compares of a run. */
type KnownKey = CreatedKey & Pick<Slot, 'knownMs'>;

/** compareCreatedOrder on precomputed times (same results, one Date.parse per run instead of per comparison). */
function createdCmp(a: CreatedKey, b: CreatedKey): number {
  const t = a.createdMs - b.createdMs;
  if (t !== 0) return t;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.attempt - b.attempt;
}
/** compareKnownOrder on precomputed times. */
const knownCmp = (a: KnownKey, b: KnownKey): number => a.knownMs - b.knownMs || createdCmp(a, b);

function slotOf(x: RunRecord): Slot {
  const label = failureLabel(x.conclusion);
  return {
    workflow: x.workflow,
    id: x.run_id,
    attempt: x.run_attempt,
    actor: x.actor ?? null,
    createdMs: Date.parse(x.created_at),
    knownMs: label === null ? NaN : knownAtMs(x),
    inHistory: false,
    churn: runChurn(x),
  };
}

/** An author's learnable outcomes known at `ms`, in known order (compareKnownOrder), the last AUTHOR_WINDOW. */
function authorLabels(ms: number, rows: ActorOutcomeRow[]): number[] {
  const known: (KnownKey & { label: number })[] = [];
  for (const x of rows) {
    const label = failureLabel(x.conclusion);
    if (label === null) continue;
    const knownMs = knownAtFromMs(x.created_ms, x.completed_ms);
    if (knownMs <= ms) known.push({ knownMs, createdMs: x.created_ms, id: x.run_id, attempt: x.run_attempt, label });
  }
  known.sort(knownCmp);
  return known.slice(-AUTHOR_WINDOW).map((x) => x.label);
}

/** The history and the sorted runs it was built from. */
function build(
  createdMs: number,
  runs: RunRecord[],
  trackAuthors: boolean,
): { h: RepoHistory; slots: Slot[]; known: Slot[] } {
  const h = new RepoHistory(trackAuthors);
  // Stable sorts, so runs that compare equal keep their input order, as with compareCreatedOrder/compareKnownOrder.
  const items = runs.map((x) => ({ s: slotOf(x), x })).sort((a, b) => createdCmp(a.s, b.s));
  for (const { s } of items) h.addCreated(s.createdMs, s.churn);
  const known = items
    .filter(({ s }) => !Number.isNaN(s.knownMs) && s.knownMs <= createdMs)
    .sort((a, b) => knownCmp(a.s, b.s));
  for (const { s, x } of known) {
    h.addOutcome(x);
    s.inHistory = true;
  }
  return { h, slots: items.map((i) => i.s), known: known.map((i) => i.s) };
}

/** The row `recentOutcomesByActor` returns for a run. */
function actorRow(x: RunRecord, s: Slot): ActorOutcomeRow {
  return {
    created_ms: s.createdMs,
    completed_ms: x.completed_at == null ? null : Date.parse(x.completed_at),
    run_id: s.id,
    run_attempt: s.attempt,
    conclusion: x.conclusion ?? null,
  };
}

/** The history known at `createdMs`, from runs created before it (any order). */
export function historyAt(createdMs: number, runs: RunRecord[], trackAuthors: boolean): RepoHistory {
  return build(createdMs, runs, trackAuthors).h;
}

interface CacheEntry {
  history: RepoHistory;
  /** The history is exact for requests created in [builtAt, validUntil). */
  builtAt: number;
  validUntil: number;
  authors: Set<string>;
  /**
   * Per author, the runs `recentOutcomesByActor` would return at builtAt (at most AUTHOR_ROWS): kept so that
   * folding in a run updates them, and the author's labels are recomputed from memory. Some authors only.
   */
  authorRows: Map<string, AuthorRows>;
  /** The loaded runs (the LOADED most recent created before builtAt, plus runs folded in since), in created order. */
  slots: Slot[];
  /** The last outcome in the history, in known order (null when none). */
  lastKnown: KnownKey | null;
  /** How many of `slots` have a known change size (for the median-churn feature). */
  churnKnown: number;
  /**
   * Runs that left the loaded window when newer ones were added but are still inside `history` (it cannot
   * forget one): the latest created_at among them, and the latest known time among their outcomes.
   */
  ghostCreated: number;
  ghostKnown: number;
}

/** Counters for tests and diagnostics: full rebuilds from the store, writes folded in without one, entries dropped, author reloads. */
export interface LiveHistoryStats {
  builds: number;
  incremental: number;
  dropped: number;
  /** Author histories read from the store (the rest came from rows kept in memory). */
  authorLoads: number;
}

/**
 * Serving-time history with a per-repo cache, so a risk check does not reload and re-sort ~1,300 runs.
 *
 * Writes keep it exact:
 * - a run written by this process (in-process change feed) or by another one (SQLite data_version, then the
 *   store's change log names the repos and runs) is folded into that repo's entry when it is the common case
 *   — created after every loaded run, outcome (if any) known by now and after every outcome in the history —
 *   and the result provably equals a rebuild from the store; otherwise only that repo's entry is dropped;
 * - an entry expires when an outcome it had to leave out becomes known by the clock;
 * - if the change log no longer reaches back far enough, every entry is dropped.
 * Requests for a past instant bypass the cache and take the exact path above.
 */
export class LiveHistory {
  private readonly cache = new Map<string, CacheEntry>();
  private authorRowTotal = 0;
  private version: number;
  private seq: number;
  private readonly unsubscribe: () => void;
  readonly stats: LiveHistoryStats = { builds: 0, incremental: 0, dropped: 0, authorLoads: 0 };
  /**
   * When other writers' changes could not be read (store unavailable), since when: cached entries keep
   * answering, but may lack outcomes written since. Null once a catch-up read succeeds.
   */
  staleSince: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly opts: FeatureOptions,
    private readonly maxRepos = 5000,
    /** The clock the "known by now" checks use (tests). */
    private readonly now: () => number = Date.now,
    /** How many author-row slots all entries together may hold. */
    private readonly authorRowBudget = AUTHOR_ROW_BUDGET,
  ) {
    // data_version first: a commit between the two reads is then seen again, never missed.
    this.version = store.dataVersion();
    this.seq = store.changedReposSince(0).seq;
    this.unsubscribe = store.onRunsChanged((repos, runs) => {
      // Other connections' commits that came before this one first: their runs were most likely created
      // before ours, and folding them afterwards would put them out of order (a rebuild).
      this.trySync();
      for (const repo of repos) {
        const e = this.cache.get(repo);
        if (!e) continue;
        for (const x of runs) {
          if (x.repo === repo && !this.fold(e, x)) {
            this.drop(repo);
            break;
          }
        }
      }
    });
  }

  features(r: RunRecord): Float64Array {
    const created = Date.parse(r.created_at);
    this.trySync();
    let e = this.cache.get(r.repo);
    if (e && (created < e.builtAt || created >= e.validUntil)) e = undefined;
    if (!e) {
      if (created < this.now() - 60_000) return liveFeatures(r, this.store, this.opts);
      e = this.build(r.repo, created);
    }
    if (r.actor && !e.authors.has(r.actor)) {
      const kept = e.authorRows.get(r.actor);
      let labels = kept ? kept.labels(e.builtAt) : null;
      if (labels === null) {
        const stored = this.store.recentOutcomesByActor(
          r.repo,
          r.actor,
          new Date(e.builtAt).toISOString(),
          AUTHOR_ROWS,
        );
        this.stats.authorLoads++;
        if (!kept) this.keepAuthorRows(e, r.actor, AuthorRows.fromStore(stored, AUTHOR_ROWS));
        labels = authorLabels(e.builtAt, stored);
      }
      for (const label of labels) e.history.addAuthorOutcome(r.actor, label);
      e.authors.add(r.actor);
    }
    const out = new Float64Array(FEATURE_COUNT);
    featurize(r, e.history, this.opts, out, 0);
    return out;
  }

  /**
   * Catches up with other writers; when the store cannot be read, keeps what is cached (the risk path answers
   * from memory) and retries on the next call. Other errors propagate.
   */
  private trySync(): void {
    try {
      this.syncIfOthersWrote();
      const visible = this.store.changesVisible?.();
      this.staleSince = visible && !visible.ok ? (visible.since ?? new Date().toISOString()) : null;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.staleSince ??= new Date().toISOString();
    }
  }

  private syncIfOthersWrote(): void {
    const v = this.store.dataVersion();
    if (v === this.version) return;
    // The version is taken only once the change log was read: a failed read is retried, not skipped.
    this.syncOtherWriters();
    this.version = v;
  }

  /** Another connection committed: fold in (or drop the entries of) the repos it wrote runs for. */
  private syncOtherWriters(): void {
    const ch = this.store.changedReposSince(this.seq);
    this.seq = ch.seq;
    if (ch.truncated) {
      this.stats.dropped += this.cache.size;
      this.clear();
      return;
    }
    let failed: unknown = null;
    for (const repo of ch.repos) {
      const e = this.cache.get(repo);
      if (!e) continue;
      const keys = ch.runs.get(repo);
      if (!keys) {
        this.drop(repo);
        continue;
      }
      const seen = new Set<string>();
      for (const [wf, id, att] of keys) {
        const k = `${wf}\u0000${id}\u0000${att}`;
        if (seen.has(k)) continue;
        seen.add(k);
        let x: RunRecord | undefined;
        try {
          x = this.store.getRun(repo, wf, id, att);
        } catch (err) {
          // The log position has moved past this write: an entry that could not take it in must go.
          failed ??= err;
          x = undefined;
        }
        if (!x || !this.fold(e, x)) {
          this.drop(repo);
          break;
        }
      }
    }
    if (failed) throw failed;
  }

  private drop(repo: string): void {
    const e = this.cache.get(repo);
    if (!e) return;
    this.remove(repo, e);
    this.stats.dropped++;
  }

  private remove(repo: string, e: CacheEntry): void {
    this.cache.delete(repo);
    for (const rows of e.authorRows.values()) this.authorRowTotal -= rows.size;
    e.authorRows.clear();
  }

  private keepAuthorRows(e: CacheEntry, actor: string, rows: AuthorRows): void {
    this.authorRowTotal += rows.size;
    e.authorRows.set(actor, rows);
    this.enforceBudget(e, actor);
  }

  /**
   * Over budget, the oldest entries give up their rows (their authors reload from the store on demand), then,
   * for a repo with more authors than the budget holds, this entry's longest-kept authors but `actor`.
   */
  private enforceBudget(e: CacheEntry, actor: string): void {
    for (const other of this.cache.values()) {
      if (this.authorRowTotal <= this.authorRowBudget) return;
      if (other === e) continue;
      for (const r of other.authorRows.values()) this.authorRowTotal -= r.size;
      other.authorRows.clear();
    }
    for (const name of e.authorRows.keys()) {
      if (this.authorRowTotal <= this.authorRowBudget) return;
      if (name !== actor) this.forgetAuthorRows(e, name);
    }
  }

  private forgetAuthorRows(e: CacheEntry, actor: string): void {
    const rows = e.authorRows.get(actor);
    if (!rows) return;
    this.authorRowTotal -= rows.size;
    e.authorRows.delete(actor);
  }

  /** Brings the author's rows to what the store gives once `x` is written, or lets them go when that is not plain. */
  private foldAuthorRows(e: CacheEntry, x: RunRecord, s: Slot, replaced: Slot | null): void {
    if (replaced && replaced.actor !== null && replaced.actor !== s.actor) {
      // The previous version's author no longer owns this run.
      this.forgetAuthorRows(e, replaced.actor);
      e.history.forgetAuthor(replaced.actor);
      e.authors.delete(replaced.actor);
    }
    const actor = s.actor;
    const rows = actor === null ? undefined : e.authorRows.get(actor);
    if (!rows) return;
    if (replaced) {
      if (replaced.actor !== actor || !rows.replace(actorRow(x, s))) this.forgetAuthorRows(e, actor!);
      return;
    }
    // The rows may hold x already: they were read from the store after x committed but before its change
    // reached this cache (another replica's write whose notification was still on its way — PostgreSQL, or
    // SQLite with several workers). Pushing it again counted it twice (author_runs +1: 3 of 96 checks in a
    // two-writer run over PostgreSQL). A scan of at most AUTHOR_ROWS (800) slots per fold, ~1 µs.
    if (rows.replace(actorRow(x, s))) return;
    // x is the repo's newest run in created order, so it is also its author's newest.
    const before = rows.size;
    rows.push(actorRow(x, s));
    this.authorRowTotal += rows.size - before;
    if (rows.size > before) this.enforceBudget(e, actor!);
  }

  private build(repo: string, now: number): CacheEntry {
    this.stats.builds++;
    const runs = this.store.recentRuns(repo, new Date(now).toISOString(), LOADED);
    const { h, slots, known } = build(now, runs, false);
    let validUntil = Infinity;
    let churnKnown = 0;
    for (const s of slots) {
      if (s.knownMs > now) validUntil = Math.min(validUntil, s.knownMs);
      if (!Number.isNaN(s.churn)) churnKnown++;
    }
    const last = known.length ? known[known.length - 1] : null;
    const e: CacheEntry = {
      history: h,
      builtAt: now,
      validUntil,
      authors: new Set(),
      authorRows: new Map(),
      slots,
      lastKnown: last,
      churnKnown,
      ghostCreated: -Infinity,
      ghostKnown: -Infinity,
    };
    if (this.cache.size >= this.maxRepos) {
      const [oldest, entry] = this.cache.entries().next().value!;
      this.remove(oldest, entry);
    }
    this.cache.set(repo, e);
    return e;
  }

  /**
   * Folds a newly written version of run `x` into `e`, or returns false (the caller drops the entry) unless
   * the result is exactly what a rebuild would give for every request the entry then serves, [builtAt', validUntil):
   * the store's LOADED most recent runs created before the request are the old ones plus `x` (minus the oldest,
   * a "ghost", when the window was full), `x` comes after all of them in created order and, with an outcome,
   * after every outcome in the history in known order, and ghosts are too old to reach any feature.
   */
  private fold(e: CacheEntry, x: RunRecord): boolean {
    const now = this.now();
    const s = slotOf(x);
    const labelled = !Number.isNaN(s.knownMs);
    if (s.createdMs >= now || (labelled && s.knownMs > now)) return false;
    // From here on requests must see x as created (and its outcome as known).
    const at = Math.max(e.builtAt, s.createdMs + 1, labelled ? s.knownMs : -Infinity);
    // An outcome the entry left out would be known by then.
    if (!(at < e.validUntil)) return false;
    const after = (p: KnownKey | null) => p === null || knownCmp(p, s) < 0;

    const slots = e.slots;
    let i = slots.length - 1;
    while (i >= 0 && !(slots[i].workflow === s.workflow && slots[i].id === s.id && slots[i].attempt === s.attempt)) i--;
    if (i >= 0) {
      // A new version of a loaded run: fine while the old one gave the history nothing but its creation.
      // (Its creation time and size sit in the history's created list, so those must not have changed.)
      const old = slots[i];
      if (old.inHistory || old.createdMs !== s.createdMs || !Object.is(old.churn, s.churn)) return false;
      this.foldAuthorRows(e, x, s, old);
      if (labelled) {
        if (!after(e.lastKnown)) return false;
        e.history.addOutcome(x);
        e.lastKnown = s;
      }
      slots[i] = { ...s, inHistory: labelled };
    } else {
      const newest = slots.length ? slots[slots.length - 1] : null;
      if (newest && createdCmp(newest, s) >= 0) return false; // not the newest run: would go in the middle
      if (labelled && !after(e.lastKnown)) return false;
      let churnKnown = e.churnKnown + (Number.isNaN(s.churn) ? 0 : 1);
      let ghostCreated = e.ghostCreated;
      let ghostKnown = e.ghostKnown;
      const full = slots.length >= LOADED;
      if (full) {
        const oldest = slots[0];
        ghostCreated = oldest.createdMs;
        if (!Number.isNaN(oldest.churn)) churnKnown--;
        if (oldest.inHistory) ghostKnown = Math.max(ghostKnown, oldest.knownMs);
      }
      if (ghostCreated !== -Infinity) {
        // No feature may reach a ghost: runs_24h/runs_1h count only the last CREATED_WINDOW runs, the median
        // churn scans back only MEDIAN_RUNS runs with a size, rates look at the last REPO_WINDOW outcomes.
        if (churnKnown < MEDIAN_RUNS) return false;
        if (
          ghostKnown !== -Infinity &&
          e.history.countKnownAfter(ghostKnown) + (labelled && s.knownMs > ghostKnown ? 1 : 0) < REPO_WINDOW
        )
          return false;
      }
      if (full) slots.shift();
      this.foldAuthorRows(e, x, s, null);
      e.history.addCreated(s.createdMs, s.churn);
      if (labelled) {
        e.history.addOutcome(x);
        e.lastKnown = s;
      }
      s.inHistory = labelled;
      slots.push(s);
      e.churnKnown = churnKnown;
      e.ghostCreated = ghostCreated;
      e.ghostKnown = ghostKnown;
    }
    // The author's labels are recomputed (at the new instant, from its rows) on its next request; other authors are unchanged.
    if (x.actor) {
      e.history.forgetAuthor(x.actor);
      e.authors.delete(x.actor);
    }
    e.builtAt = at;
    this.stats.incremental++;
    return true;
  }

  /** Author-row slots held now, over every entry (what the budget bounds). */
  authorRowSlots(): number {
    return this.authorRowTotal;
  }

  invalidate(repo?: string): void {
    if (repo) {
      const e = this.cache.get(repo);
      if (e) this.remove(repo, e);
    } else this.clear();
  }

  private clear(): void {
    this.cache.clear();
    this.authorRowTotal = 0;
  }

  close(): void {
    this.unsubscribe();
    this.clear();
  }
}
