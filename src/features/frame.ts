import { failureLabel, type RunRecord } from '../records/schema.ts';
import { Calendar } from './calendar.ts';
import { FEATURE_COUNT, featurize, runChurn, type FeatureOptions } from './definition.ts';
import { RepoHistory, knownAtMs } from './history.ts';

/** A feature table: one row per run with a learnable outcome, in the input (repo, time) order. */
export interface Frame {
  X: Float32Array;
  y: Uint8Array;
  n: number;
  d: number;
  repo: string[];
  runId: string[];
  createdMs: Float64Array;
}

interface Pending {
  known: number;
  seq: number;
  rec: RunRecord;
}

/** Binary min-heap on (known, seq): outcomes are released in the order they became known. */
class PendingHeap {
  private a: Pending[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Pending | undefined {
    return this.a[0];
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i];
    const y = this.a[j];
    return x.known < y.known || (x.known === y.known && x.seq < y.seq);
  }
  push(p: Pending): void {
    const a = this.a;
    a.push(p);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Replays runs in (repo, created_at, run_id, run_attempt) order and featurises each with only the outcomes
 * known before it was created — exactly what the live service would have known at that moment.
 * Input must be sorted that way (the store's iterateRuns is; sort files with compareCreatedOrder).
 */
export function buildFrame(
  records: Iterable<RunRecord>,
  opts: Partial<FeatureOptions> & { timezone?: string } = {},
): Frame {
  const fo: FeatureOptions = {
    calendar: opts.calendar ?? new Calendar(opts.timezone ?? 'UTC'),
    defaultBranches: opts.defaultBranches,
  };
  const d = FEATURE_COUNT;
  let cap = 1024;
  let X = new Float32Array(cap * d);
  let y = new Uint8Array(cap);
  let createdMs = new Float64Array(cap);
  const repo: string[] = [];
  const runId: string[] = [];
  let n = 0;

  let current: string | null = null;
  let hist = new RepoHistory();
  let heap = new PendingHeap();
  let seq = 0;
  for (const r of records) {
    if (r.repo !== current) {
      current = r.repo;
      hist = new RepoHistory();
      heap = new PendingHeap();
    }
    const created = Date.parse(r.created_at);
    while (heap.size > 0 && heap.peek()!.known <= created) hist.addOutcome(heap.pop()!.rec);
    const label = failureLabel(r.conclusion);
    if (label !== null) {
      if (n === cap) {
        cap *= 2;
        const X2 = new Float32Array(cap * d);
        X2.set(X);
        X = X2;
        const y2 = new Uint8Array(cap);
        y2.set(y);
        y = y2;
        const c2 = new Float64Array(cap);
        c2.set(createdMs);
        createdMs = c2;
      }
      featurize(r, hist, fo, X, n * d);
      y[n] = label;
      createdMs[n] = created;
      repo.push(r.repo);
      runId.push(r.run_id);
      n++;
      heap.push({ known: knownAtMs(r), seq: seq++, rec: r });
    }
    hist.addCreated(created, runChurn(r));
  }
  return { X: X.subarray(0, n * d), y: y.subarray(0, n), n, d, repo, runId, createdMs: createdMs.subarray(0, n) };
}
