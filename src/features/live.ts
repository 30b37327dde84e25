import { failureLabel, type RunRecord } from '../records/schema.ts';
import type { Store } from '../store/types.ts';
import { FEATURE_COUNT, featurize, runChurn, type FeatureOptions } from './definition.ts';
import { AUTHOR_WINDOW, REPO_WINDOW, RepoHistory, compareCreatedOrder, compareKnownOrder, knownAtMs } from './history.ts';

/** Extra rows loaded beyond the window, to cover runs that were created earlier but are not known yet. */
const SLACK = 300;

/**
 * Serving-time features for a run that is about to start: rebuilds the same bounded history the trainer
 * had at that instant from the store, then calls the one feature definition.
 */
export function liveFeatures(r: RunRecord, store: Store, opts: FeatureOptions): Float64Array {
  const created = Date.parse(r.created_at);
  const h = historyAt(created, store.recentRuns(r.repo, r.created_at, REPO_WINDOW + SLACK), false);
  if (r.actor) {
    const mine = store
      .recentRunsByActor(r.repo, r.actor, r.created_at, AUTHOR_WINDOW + SLACK)
      .filter((x) => failureLabel(x.conclusion) !== null && knownAtMs(x) <= created)
      .sort(compareKnownOrder);
    for (const x of mine.slice(-AUTHOR_WINDOW)) h.addAuthorOutcome(r.actor, failureLabel(x.conclusion)!);
  }
  const out = new Float64Array(FEATURE_COUNT);
  featurize(r, h, opts, out, 0);
  return out;
}

/** The history known at `createdMs`, from runs created before it (any order). */
export function historyAt(createdMs: number, runs: RunRecord[], trackAuthors: boolean): RepoHistory {
  const h = new RepoHistory(trackAuthors);
  for (const x of [...runs].sort(compareCreatedOrder)) h.addCreated(Date.parse(x.created_at), runChurn(x));
  const known = runs.filter((x) => failureLabel(x.conclusion) !== null && knownAtMs(x) <= createdMs).sort(compareKnownOrder);
  for (const x of known) h.addOutcome(x);
  return h;
}

interface CacheEntry {
  history: RepoHistory;
  /** The history is exact for requests created in [builtAt, validUntil). */
  builtAt: number;
  validUntil: number;
  authors: Set<string>;
}

/**
 * Serving-time history with a per-repo cache, so a risk check does not reload and re-sort ~1,300 runs.
 * An entry is dropped when runs of its repo are written (in-process change feed), when another process
 * commits (SQLite data_version), or when an outcome it had to leave out becomes known by the clock.
 * Requests for a past instant bypass the cache and take the exact path above.
 */
export class LiveHistory {
  private readonly cache = new Map<string, CacheEntry>();
  private version: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly opts: FeatureOptions,
    private readonly maxRepos = 5000,
  ) {
    this.version = store.dataVersion();
    this.unsubscribe = store.onRunsChanged((repos) => {
      for (const r of repos) this.cache.delete(r);
    });
  }

  features(r: RunRecord): Float64Array {
    const created = Date.parse(r.created_at);
    const v = this.store.dataVersion();
    if (v !== this.version) {
      this.cache.clear();
      this.version = v;
    }
    let e = this.cache.get(r.repo);
    if (e && (created < e.builtAt || created >= e.validUntil)) e = undefined;
    if (!e) {
      if (created < Date.now() - 60_000) return liveFeatures(r, this.store, this.opts);
      e = this.build(r.repo, created);
    }
    if (r.actor && !e.authors.has(r.actor)) {
      const mine = this.store
        .recentRunsByActor(r.repo, r.actor, new Date(e.builtAt).toISOString(), AUTHOR_WINDOW + SLACK)
        .filter((x) => failureLabel(x.conclusion) !== null && knownAtMs(x) <= e!.builtAt)
        .sort(compareKnownOrder);
      for (const x of mine.slice(-AUTHOR_WINDOW)) e.history.addAuthorOutcome(r.actor, failureLabel(x.conclusion)!);
      e.authors.add(r.actor);
    }
    const out = new Float64Array(FEATURE_COUNT);
    featurize(r, e.history, this.opts, out, 0);
    return out;
  }

  private build(repo: string, now: number): CacheEntry {
    const runs = this.store.recentRuns(repo, new Date(now).toISOString(), REPO_WINDOW + SLACK);
    let validUntil = Infinity;
    for (const x of runs) {
      const k = knownAtMs(x);
      if (failureLabel(x.conclusion) !== null && k > now) validUntil = Math.min(validUntil, k);
    }
    const e: CacheEntry = { history: historyAt(now, runs, false), builtAt: now, validUntil, authors: new Set() };
    if (this.cache.size >= this.maxRepos) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(repo, e);
    return e;
  }

  invalidate(repo?: string): void {
    if (repo) this.cache.delete(repo);
    else this.cache.clear();
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
  }
}
