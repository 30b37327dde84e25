/**
 * A deterministic synthetic GitHub repository: workflow runs (with re-runs, in-progress runs,
 * startup_failure, legacy payloads without run_attempt) over a set of commits, some with > 300 files.
 * Payloads are shaped like the real recordings in ../shared/fixtures/github.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../src/ml/random.ts';

export interface SyntheticOptions {
  runs: number;
  commits: number;
  seed?: number;
  owner?: string;
  name?: string;
  repoId?: number;
  /** Commits with more than 300 files (paged). */
  bigCommits?: number;
  /** Newest runs still in progress when first listed. */
  inProgress?: number;
  /** Individual fetches an in-progress run answers before it reports completion. */
  fetchesBeforeDone?: number;
  /** Epoch ms of the newest run. */
  end: number;
  spacingSec?: number;
}

export interface SynCommit {
  sha: string;
  additions: number;
  deletions: number;
  files: string[];
}

export interface SynRun {
  id: number;
  /** One payload per attempt; the listing shows the last. */
  attempts: Record<string, unknown>[];
  fetchesLeft: number;
}

export interface SyntheticRepo {
  owner: string;
  name: string;
  full: string;
  repoId: number;
  runs: SynRun[];
  byId: Map<number, SynRun>;
  commits: Map<string, SynCommit>;
  /** Total run attempts = records a complete ingest must store. */
  attemptCount: number;
}

const WORKFLOWS = [
  { id: 1001, name: 'CI', path: '.github/workflows/ci.yml' },
  { id: 1002, name: 'Lint', path: '.github/workflows/lint.yml' },
  { id: 1003, name: 'Release', path: '.github/workflows/release.yml' },
];
const ACTORS = ['alice', 'bob', 'carol', 'dependabot[bot]', 'erin', 'frank'];
const BRANCHES = ['main', 'main', 'main', 'feature/login', 'fix/flaky-test', 'renovate/deps'];
const API = 'https://api.github.com';
const isoSec = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function user(login: string, id: number) {
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `${API}/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
  };
}

export function generateRepo(o: SyntheticOptions): SyntheticRepo {
  const rnd = mulberry32(o.seed ?? 42);
  const owner = o.owner ?? 'acme';
  const name = o.name ?? 'widgets';
  const full = `${owner}/${name}`;
  const repoId = o.repoId ?? 700123;
  const spacing = o.spacingSec ?? 600;

  const commits = new Map<string, SynCommit>();
  const shas: string[] = [];
  const big = new Set<number>();
  const nBig = o.bigCommits ?? Math.max(1, Math.floor(o.commits / 200));
  for (let i = 0; i < nBig; i++) big.add(Math.floor((i + 0.5) * (o.commits / nBig)));
  for (let i = 0; i < o.commits; i++) {
    const sha = createHash('sha1')
      .update(`${full}:${o.seed ?? 42}:${i}`)
      .digest('hex');
    const n = big.has(i) ? 301 + Math.floor(rnd() * 900) : 1 + Math.floor(rnd() * 25);
    const files: string[] = [];
    for (let f = 0; f < n; f++) files.push(`src/mod${Math.floor(rnd() * 40)}/file_${i}_${f}.ts`);
    commits.set(sha, { sha, additions: Math.floor(rnd() * 500), deletions: Math.floor(rnd() * 200), files });
    shas.push(sha);
  }

  const repository = {
    id: repoId,
    node_id: `R_${repoId}`,
    name,
    full_name: full,
    private: false,
    owner: user(owner, 9000),
    html_url: `https://github.com/${full}`,
    description: 'synthetic',
    fork: false,
    url: `${API}/repos/${full}`,
  };

  const runs: SynRun[] = [];
  const start = o.end - (o.runs - 1) * spacing * 1000;
  let attemptCount = 0;
  for (let i = 0; i < o.runs; i++) {
    const id = 5_000_000 + i * 7;
    const created = start + i * spacing * 1000 + Math.floor(rnd() * spacing * 500);
    // Runs are grouped per commit, in order, so every commit is used and each push triggers a few runs.
    const sha = shas[Math.min(o.commits - 1, Math.floor((i * o.commits) / o.runs))];
    const wf = WORKFLOWS[i % WORKFLOWS.length];
    const actor = ACTORS[Math.floor(rnd() * ACTORS.length)];
    const legacy = i < o.runs * 0.1; // the oldest payloads predate run_attempt / run_started_at
    const r = rnd();
    const attemptsN = legacy ? 1 : r < 0.01 ? 3 : r < 0.06 ? 2 : 1;
    const inProgress = i >= o.runs - (o.inProgress ?? 0);
    const attempts: Record<string, unknown>[] = [];
    for (let a = 1; a <= attemptsN; a++) {
      const q = rnd();
      const last = a === attemptsN;
      const conclusion = !last
        ? 'failure'
        : q < 0.72
          ? 'success'
          : q < 0.9
            ? 'failure'
            : q < 0.94
              ? 'cancelled'
              : q < 0.96
                ? 'timed_out'
                : q < 0.98
                  ? 'startup_failure'
                  : 'skipped';
      const startedAt = created + (a - 1) * 1800_000;
      const runUrl = `${API}/repos/${full}/actions/runs/${id}`;
      const p: Record<string, unknown> = {
        id,
        name: wf.name,
        node_id: `WFR_${id}`,
        head_branch: BRANCHES[Math.floor(rnd() * BRANCHES.length)],
        head_sha: sha,
        path: wf.path,
        display_title: `Change ${i}`,
        run_number: i + 1,
        event: rnd() < 0.7 ? 'push' : 'pull_request',
        status: 'completed',
        conclusion,
        workflow_id: wf.id,
        check_suite_id: 9_000_000 + i,
        check_suite_node_id: `CS_${i}`,
        url: runUrl,
        html_url: `https://github.com/${full}/actions/runs/${id}`,
        pull_requests: [],
        created_at: isoSec(created),
        updated_at: isoSec(startedAt + 60_000 + Math.floor(rnd() * 900_000)),
        actor: user(actor, 100 + ACTORS.indexOf(actor)),
        run_attempt: a,
        referenced_workflows: [],
        run_started_at: isoSec(startedAt),
        triggering_actor: user(actor, 100 + ACTORS.indexOf(actor)),
        jobs_url: `${runUrl}/attempts/${a}/jobs`,
        logs_url: `${runUrl}/attempts/${a}/logs`,
        check_suite_url: `${API}/repos/${full}/check-suites/${9_000_000 + i}`,
        artifacts_url: `${runUrl}/artifacts`,
        cancel_url: `${runUrl}/cancel`,
        rerun_url: `${runUrl}/rerun`,
        previous_attempt_url: a > 1 ? `${runUrl}/attempts/${a - 1}` : null,
        workflow_url: `${API}/repos/${full}/actions/workflows/${wf.id}`,
        head_commit: {
          id: sha,
          tree_id: sha.split('').reverse().join(''),
          message: `Change ${i}`,
          timestamp: isoSec(created - 60_000),
          author: { name: actor, email: `${actor}@example.com` },
          committer: { name: 'GitHub', email: 'noreply@github.com' },
        },
        repository,
        head_repository: repository,
      };
      if (legacy) {
        delete p.run_attempt;
        delete p.run_started_at;
        delete p.previous_attempt_url;
        delete p.triggering_actor;
      }
      if (last && inProgress) {
        p.status = 'in_progress';
        p.conclusion = null;
      }
      attempts.push(p);
      attemptCount++;
    }
    runs.push({ id, attempts, fetchesLeft: inProgress ? (o.fetchesBeforeDone ?? 1) : 0 });
  }
  runs.sort((a, b) => ((a.attempts[0].created_at as string) < (b.attempts[0].created_at as string) ? 1 : -1));
  return { owner, name, full, repoId, runs, byId: new Map(runs.map((r) => [r.id, r])), commits, attemptCount };
}

/** Marks an in-progress run as concluded (what GitHub shows once it finishes). */
export function concludeRun(run: SynRun): void {
  const p = run.attempts[run.attempts.length - 1];
  if (p.status === 'completed') return;
  p.status = 'completed';
  p.conclusion = (run.id / 7) % 3 === 0 ? 'failure' : 'success';
  p.updated_at = isoSec(Date.parse(p.created_at as string) + 900_000);
}

export function expectedJobs(run: SynRun, attempt: number) {
  const p = run.attempts[attempt - 1];
  const failed = p.conclusion === 'failure' || p.conclusion === 'timed_out';
  return ['build', 'test', 'lint'].map((name) => ({
    name,
    conclusion: failed && name === 'test' ? p.conclusion : p.status === 'completed' ? 'success' : null,
  }));
}
