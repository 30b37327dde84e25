import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorRows, runIdHash } from '../../src/features/author-rows.ts';
import { AUTHOR_WINDOW } from '../../src/features/history.ts';
import { failureLabel } from '../../src/records/schema.ts';
import type { ActorOutcomeRow } from '../../src/store/types.ts';
import { rng } from '../support/runs.ts';

/** The definition, on plain rows: learnable outcomes known at `ms`, in known order, the last AUTHOR_WINDOW. */
function reference(ms: number, rows: ActorOutcomeRow[]): { labels: number[]; edgeTie: boolean } {
  const known = rows
    .map((x) => ({
      x,
      label: failureLabel(x.conclusion),
      k: x.completed_ms == null ? x.created_ms + 1 : Math.max(x.completed_ms, x.created_ms + 1),
    }))
    .filter((r) => r.label !== null && r.k <= ms);
  known.sort(
    (a, b) =>
      a.k - b.k ||
      a.x.created_ms - b.x.created_ms ||
      (a.x.run_id === b.x.run_id ? a.x.run_attempt - b.x.run_attempt : a.x.run_id < b.x.run_id ? -1 : 1),
  );
  const from = known.length - AUTHOR_WINDOW;
  const edgeTie =
    from > 0 && known[from - 1].k === known[from].k && known[from - 1].x.created_ms === known[from].x.created_ms;
  return { labels: known.slice(-AUTHOR_WINDOW).map((r) => r.label as number), edgeTie };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

const CONCLUSIONS = ['success', 'failure', 'cancelled', 'timed_out', null, 'skipped'];

test('AuthorRows keeps the newest `capacity` runs and gives the defined labels after pushes, replacements and wrap-around', () => {
  const rnd = rng(3);
  for (const capacity of [1, 7, 800]) {
    const rows = new AuthorRows(capacity);
    const all: ActorOutcomeRow[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 3 * capacity + 50; i++) {
      t += Math.floor(rnd() * 60_000);
      const conclusion = CONCLUSIONS[Math.floor(rnd() * CONCLUSIONS.length)];
      // equal creation times and completions before creation, where the tie-breaks and the +1 ms rule decide
      const created = rnd() < 0.1 ? t - 60_000 : t;
      const row = {
        created_ms: created,
        completed_ms: conclusion === null || rnd() < 0.1 ? null : created + Math.floor((rnd() - 0.1) * 3_600_000),
        run_id: `r${Math.floor(rnd() * 1e6)}`,
        run_attempt: 1 + Math.floor(rnd() * 2),
        conclusion,
      };
      rows.push(row);
      all.push(row);
      if (rnd() < 0.1 && all.length > 1) {
        // a new version of a kept run (it completed)
        const j = Math.max(all.length - capacity, 0) + Math.floor(rnd() * Math.min(capacity, all.length));
        all[j] = { ...all[j], conclusion: 'failure', completed_ms: all[j].created_ms + 1000 };
        assert.ok(rows.replace(all[j]), 'a kept run is found');
      }
      const kept = all.slice(-capacity);
      assert.equal(rows.length, kept.length);
      assert.ok(
        rows.size <= capacity && rows.size <= 2 * rows.length + 16,
        `allocated ${rows.size} for ${rows.length} runs`,
      );
      const ms = t + Math.floor((rnd() - 0.5) * 3_600_000);
      const want = reference(ms, kept);
      const got = rows.labels(ms);
      // The window's labels as a multiset (what the features count); null exactly when a tie sits on its edge.
      if (want.edgeTie) assert.equal(got, null, `capacity ${capacity}, after ${i + 1} pushes: a tie on the edge`);
      else assert.deepEqual(sorted(got ?? []), sorted(want.labels), `capacity ${capacity}, after ${i + 1} pushes`);
    }
    assert.equal(
      rows.replace({ created_ms: 1, completed_ms: null, run_id: 'absent', run_attempt: 1, conclusion: null }),
      false,
      'a run that is not kept is not found',
    );
  }
});

test('AuthorRows.fromStore takes the store’s newest-first rows, at most `capacity` of them', () => {
  const stored: ActorOutcomeRow[] = Array.from({ length: 10 }, (_, i) => ({
    created_ms: 1000 - i * 10,
    completed_ms: 1000 - i * 10 + 5,
    run_id: `r${i}`,
    run_attempt: 1,
    conclusion: i % 2 ? 'failure' : 'success',
  }));
  // the four newest: r0 (success), r1 (failure), r2 (success), r3 (failure), in known order oldest first
  assert.deepEqual(AuthorRows.fromStore(stored, 4).labels(2000), [1, 0, 1, 0]);
  assert.deepEqual(AuthorRows.fromStore(stored, 4).labels(985), [1, 0], 'only r3 and r2 are known by then');
});

test('AuthorRows.labels leaves a tie on the window’s edge to the store, and settles ties inside it', () => {
  const row = (i: number, created: number): ActorOutcomeRow => ({
    created_ms: created,
    completed_ms: created + 10,
    run_id: `r${i}`,
    run_attempt: 1,
    conclusion: i % 3 ? 'success' : 'failure',
  });
  // AUTHOR_WINDOW + 1 outcomes, the two oldest created (and so known) at the same instant: which one drops out
  // of the window depends on the run ids' order, which the hashes do not keep.
  const edge = [
    row(0, 1000),
    row(1, 1000),
    ...Array.from({ length: AUTHOR_WINDOW - 1 }, (_, i) => row(i + 2, 2000 + i)),
  ];
  assert.equal(AuthorRows.fromStore([...edge].reverse(), 800).labels(1e9), null);
  // the same tie one run further in: both count, whatever their order
  const inside = [
    row(0, 500),
    row(1, 1000),
    row(2, 1000),
    ...Array.from({ length: AUTHOR_WINDOW - 2 }, (_, i) => row(i + 3, 2000 + i)),
  ];
  const got = AuthorRows.fromStore([...inside].reverse(), 800).labels(1e9);
  assert.deepEqual(sorted(got!), sorted(reference(1e9, inside).labels));
});

test('runIdHash is a deterministic integer below 2^53 that tells similar ids apart', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const h = runIdHash(`load-4-mi8x-${i}`);
    assert.ok(Number.isSafeInteger(h) && h >= 0);
    seen.add(h);
  }
  assert.equal(seen.size, 100_000, 'no collision among 100,000 sequential ids');
  assert.equal(runIdHash('12345'), runIdHash('12345'));
});
