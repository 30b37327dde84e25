import { failureLabel } from '../records/schema.ts';
import type { ActorOutcomeRow } from '../store/types.ts';
import { AUTHOR_WINDOW, knownAtFromMs } from './history.ts';

/**
 * One author's most recent runs in a repo (at most `capacity`, oldest first), as columns: what the author
 * features are computed from. Columns, and a hash instead of the run id, because a serving cache keeps tens of
 * thousands of these (29 B a run instead of ~250 as row objects).
 */
export class AuthorRows {
  private created: Float64Array;
  /** When the outcome is known (knownAtMs on the stored columns), NaN when there is no learnable outcome. */
  private known: Float64Array;
  private label: Int8Array;
  private attempt: Int32Array;
  /** runIdHash of the run id: ids only break ties and find a run again. */
  private id: Float64Array;
  /**
   * Allocated slots: grown by doubling up to `capacity`, so an author with a handful of runs costs a handful.
   * Until full the runs sit at 0..length-1; once full it is a ring whose oldest run is at `head`.
   */
  size: number;
  private head = 0;
  length = 0;

  constructor(
    private readonly capacity: number,
    initial = 16,
  ) {
    this.size = Math.max(1, Math.min(capacity, initial));
    this.created = new Float64Array(this.size);
    this.known = new Float64Array(this.size);
    this.label = new Int8Array(this.size);
    this.attempt = new Int32Array(this.size);
    this.id = new Float64Array(this.size);
  }

  /** From `recentOutcomesByActor`'s rows (newest first). */
  static fromStore(rows: readonly ActorOutcomeRow[], capacity: number): AuthorRows {
    const n = Math.min(rows.length, capacity);
    const a = new AuthorRows(capacity, n + 16);
    for (let i = n - 1; i >= 0; i--) a.push(rows[i]);
    return a;
  }

  /** Adds the author's newest run; the oldest leaves when full. */
  push(row: ActorOutcomeRow): void {
    let i: number;
    if (this.length < this.capacity) {
      if (this.length === this.size) this.grow();
      i = this.length++;
    } else {
      i = this.head;
      this.head = (this.head + 1) % this.size;
    }
    this.set(i, row);
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.size * 2);
    const copy = <T extends Float64Array | Int32Array | Int8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.created = copy(this.created, (n) => new Float64Array(n));
    this.known = copy(this.known, (n) => new Float64Array(n));
    this.label = copy(this.label, (n) => new Int8Array(n));
    this.attempt = copy(this.attempt, (n) => new Int32Array(n));
    this.id = copy(this.id, (n) => new Float64Array(n));
    this.size = size;
  }

  /** Replaces the run with this id, attempt and creation time; false when it is not here. */
  replace(row: ActorOutcomeRow): boolean {
    const h = runIdHash(row.run_id);
    for (let n = 0; n < this.length; n++) {
      const i = (this.head + n) % this.size;
      if (this.id[i] === h && this.attempt[i] === row.run_attempt && this.created[i] === row.created_ms) {
        this.set(i, row);
        return true;
      }
    }
    return false;
  }

  private set(i: number, row: ActorOutcomeRow): void {
    const label = failureLabel(row.conclusion);
    this.created[i] = row.created_ms;
    this.known[i] = label === null ? NaN : knownAtFromMs(row.created_ms, row.completed_ms);
    this.label[i] = label ?? 0;
    this.attempt[i] = row.run_attempt;
    this.id[i] = runIdHash(row.run_id);
  }

  /**
   * The learnable outcomes known at `ms`, the last AUTHOR_WINDOW in known order (compareKnownOrder), as a
   * multiset: the author features count them, so order inside the window does not matter. Null in the one case
   * the hashed ids cannot settle — two runs known and created at the same instants on either side of the
   * window's edge, where the run ids' order decides which one counts (the caller then asks the store).
   */
  labels(ms: number): number[] | null {
    const idx: number[] = [];
    for (let n = 0; n < this.length; n++) {
      const i = (this.head + n) % this.size;
      if (this.known[i] <= ms) idx.push(i); // NaN (no outcome) fails the comparison
    }
    const { known, created } = this;
    idx.sort((a, b) => known[a] - known[b] || created[a] - created[b]);
    const from = Math.max(0, idx.length - AUTHOR_WINDOW);
    if (from > 0 && known[idx[from - 1]] === known[idx[from]] && created[idx[from - 1]] === created[idx[from]])
      return null;
    const out = new Array<number>(idx.length - from);
    for (let j = from; j < idx.length; j++) out[j - from] = this.label[idx[j]];
    return out;
  }
}

/** A 53-bit hash of a run id (two 32-bit FNV-1a variants), exact in a double. */
export function runIdHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) >>> 11);
}
