/**
 * Replica coherence, small and fast (`node --import tsx bench/load-coherence.ts [--writers 2 --seconds 15
 * --rounds 3]`): the load bench's consistency check without HTTP, models or the max-throughput phases, so a
 * coherence bug shows in a minute instead of fifteen.
 *
 * Each round: a throwaway PostgreSQL cluster's fresh database with 400 runs in each of 4 repos (the newest a day
 * old); --writers processes, each a PostgresStore with its own LiveHistory (real clock), for --seconds: 40 %
 * outcomes as the load bench posts them (created 10 min ago, completed 1 min ago, one of 12 authors, one of the
 * 4 repos), 60 % risk checks. Then, 1.5 s after the last write, every process answers every (repo, author) at
 * one instant and compares each feature with the uncached path (liveFeatures) on a fresh connection.
 * Exit code 1 when any answer differs; the first difference per process is printed.
 *
 * This found the author rows counting another replica's run twice (author_runs +1, 3 of 96 checks over 3 rounds
 * before the fix in src/features/live.ts foldAuthorRows).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Calendar } from '../src/features/calendar.ts';
import { FEATURES } from '../src/features/definition.ts';
import { LiveHistory, liveFeatures } from '../src/features/live.ts';
import { mulberry32 } from '../src/ml/random.ts';
import { RunRecordSchema, type RunRecord } from '../src/records/schema.ts';
import { openPostgresStore } from '../src/store/postgres.ts';
import { pgMissingReason, startPostgres } from '../test/support/postgres.ts';
import { pendingRun, randomHistory } from '../test/support/runs.ts';

const REPOS = ['acme/web', 'acme/api', 'acme/db', 'acme/ui'];
const AUTHORS = 12;
const MIN = 60_000;
const opts = { calendar: new Calendar('UTC') };
// The pending run a risk check describes (test/support/runs.ts), by this author.
const pending = (repo: string, at: number, actor: string): RunRecord => pendingRun(repo, at, { actor });

interface Verdict {
  bad: number;
  checked: number;
  first: { repo: string; actor: string; diff: string[] } | null;
  stats: LiveHistory['stats'];
}

/** One replica: writes and checks for `seconds`, then answers the parent's comparison request. */
async function child(url: string, id: string, seconds: number, seed: number): Promise<void> {
  const rnd = mulberry32(seed);
  const store = openPostgresStore(url);
  const live = new LiveHistory(store, opts);
  let writes = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    const now = Date.now();
    const repo = REPOS[Math.floor(rnd() * REPOS.length)];
    const actor = `dev-${Math.floor(rnd() * AUTHORS)}`;
    if (rnd() < 0.4) {
      store.upsertRuns([
        RunRecordSchema.parse({
          repo,
          run_id: `c${id}-${writes++}`,
          workflow: 'ci',
          created_at: new Date(now - 10 * MIN).toISOString(),
          run_started_at: new Date(now - 9 * MIN).toISOString(),
          completed_at: new Date(now - MIN).toISOString(),
          conclusion: rnd() < 0.85 ? 'success' : 'failure',
          head_branch: 'main',
          event: 'push',
          actor,
          additions: Math.floor(rnd() * 400),
          deletions: 3,
        }),
      ]);
    } else live.features(pending(repo, now, actor));
    // Let the IPC channel and timers run now and then (the store's calls block this thread).
    if (writes % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  process.send!({ writes });
  process.once('message', (m: { at: number }) => {
    const fresh = openPostgresStore(url, { migrate: false });
    const v: Verdict = { bad: 0, checked: 0, first: null, stats: live.stats };
    for (const repo of REPOS) {
      for (let a = 0; a < AUTHORS; a++) {
        const r = pending(repo, m.at, `dev-${a}`);
        const got = live.features(r);
        const exact = liveFeatures(r, fresh, opts);
        const diff = FEATURES.flatMap((f, j) =>
          Object.is(got[j], exact[j]) ? [] : [`${f}: cached ${got[j]} vs exact ${exact[j]}`],
        );
        v.checked++;
        if (diff.length) {
          v.bad++;
          v.first ??= { repo, actor: `dev-${a}`, diff };
        }
      }
    }
    process.send!(v);
    fresh.close();
    live.close();
    store.close();
    setTimeout(() => process.exit(0), 100).unref();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      writers: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '15' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const writers = Number(values.writers);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  for (const [k, v] of Object.entries({ writers, seconds, rounds }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  const missing = pgMissingReason();
  if (missing) throw new Error(`needs a PostgreSQL to start: ${missing}`);
  const cluster = await startPostgres();
  let bad = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const url = cluster.createDatabase();
      const seedStore = openPostgresStore(url);
      const h = randomHistory(round + 1, 400, REPOS);
      const shift = Date.now() - 86_400_000 - Math.max(...h.map((r) => Date.parse(r.completed_at ?? r.created_at)));
      const move = (iso: string | null) => (iso ? new Date(Date.parse(iso) + shift).toISOString() : iso);
      seedStore.upsertRuns(
        h.map((r) => ({
          ...r,
          created_at: move(r.created_at)!,
          completed_at: move(r.completed_at ?? null),
          run_started_at: move(r.run_started_at ?? null),
        })),
      );
      seedStore.close();
      const kids = Array.from({ length: writers }, (_, i) =>
        fork(
          fileURLToPath(import.meta.url),
          ['--child', url, String(i), String(seconds), String(round * 100 + i + 1)],
          { execArgv: ['--import', 'tsx'] },
        ),
      );
      const next = <T>(k: (typeof kids)[number]) =>
        new Promise<T>((resolve) => k.once('message', (m) => resolve(m as T)));
      const done = await Promise.all(kids.map((k) => next<{ writes: number }>(k)));
      // Notifications take milliseconds; the load bench asks seconds after its load ends.
      await new Promise((r) => setTimeout(r, 1500));
      const at = Date.now();
      const verdicts = await Promise.all(kids.map((k) => (k.send({ at }), next<Verdict>(k))));
      const differ = verdicts.map((v) => v.bad);
      bad += differ.reduce((a, b) => a + b, 0);
      console.log(
        `round ${round}: writes ${done.map((d) => d.writes).join(', ')}; answers differing from a fresh store: ${differ.map((d, i) => `${d} of ${verdicts[i].checked}`).join(', ')}`,
      );
      for (const v of verdicts)
        if (v.first) console.log(`  first: ${JSON.stringify(v.first)} stats ${JSON.stringify(v.stats)}`);
    }
  } finally {
    cluster.destroy();
  }
  console.log(bad === 0 ? 'PASS' : 'FAIL');
  process.exitCode = bad === 0 ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const [url, id, seconds, seed] = process.argv.slice(i + 1);
    await child(url, id, Number(seconds), Number(seed));
  } else await main();
}
