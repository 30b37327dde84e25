import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RiskRequestInput } from '../serving/schemas.ts';

/**
 * Collects what a pre-build check knows about the commit, from explicit flags first, then GitHub's
 * `GITHUB_*` variables, then `git diff --numstat` of the checkout. Missing pieces are simply left out:
 * the server treats them as unknown rather than as zero.
 */
export interface ContextFlags {
  repo?: string;
  sha?: string;
  branch?: string;
  event?: string;
  actor?: string;
  workflow?: string;
  base?: string;
  filesChanged?: number;
  additions?: number;
  deletions?: number;
  serviceHealth?: Record<string, number>;
  diff?: boolean;
  cwd?: string;
}

export type GitRunner = (args: string[], cwd: string) => string;

// Loaded on first use: node:child_process was the largest single cost of the CI client's start (~14 of ~110 ms
// CPU in a profile on a loaded machine), and a check with --no-diff or explicit numbers runs no git.
// createRequire (not import.meta) so the same line works in the CommonJS bundle.
let childProcess: typeof import('node:child_process') | undefined;
const loadChildProcess = () =>
  (childProcess ??= createRequire(`${process.cwd()}/`)('node:child_process') as typeof import('node:child_process'));

export const runGit: GitRunner = (args, cwd) =>
  loadChildProcess().execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15_000,
  });

export interface NumstatSummary {
  files: string[];
  additions: number;
  deletions: number;
}

/** Parses `git diff --numstat -z --no-renames` output ("adds\tdels\tpath\0"; "-" for binary files). */
export function parseNumstat(out: string): NumstatSummary {
  const files: string[] = [];
  let additions = 0;
  let deletions = 0;
  for (const entry of out.split('\0')) {
    const m = /^\s*(\d+|-)\t(\d+|-)\t(.+)$/s.exec(entry);
    if (!m) continue;
    if (m[1] !== '-') additions += Number(m[1]);
    if (m[2] !== '-') deletions += Number(m[2]);
    files.push(m[3]);
  }
  return { files, additions, deletions };
}

const ZERO_SHA = /^0+$/;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** What a check needs from `$GITHUB_EVENT_PATH` (the webhook payload that started the run). */
export interface EventInfo {
  /** The push's previous tip (push events); absent for a new branch. */
  before?: string;
  /** pull_request / pull_request_target: the PR's head and base commits. */
  prHead?: string;
  prBase?: string;
}

const PR_EVENTS = new Set(['pull_request', 'pull_request_target']);

/**
 * Reads the event payload once. On `pull_request`, GITHUB_SHA is the test merge commit GitHub made
 * (refs/pull/N/merge), not a commit anyone pushed: the run GitHub records, and ingest stores, has the PR's
 * `head.sha`, so that is what is scored, and the diff is taken against `base.sha`.
 */
export function readEvent(env: NodeJS.ProcessEnv): EventInfo {
  if (!env.GITHUB_EVENT_PATH) return {};
  let ev: { before?: unknown; pull_request?: { head?: { sha?: unknown }; base?: { sha?: unknown } } };
  try {
    ev = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    return {}; /* unreadable event payload: fall back to GITHUB_SHA and the parent commit */
  }
  const sha = (v: unknown) => (typeof v === 'string' && SHA.test(v) && !ZERO_SHA.test(v) ? v : undefined);
  const out: EventInfo = { before: sha(ev?.before) };
  if (PR_EVENTS.has(env.GITHUB_EVENT_NAME ?? '') || ev?.pull_request) {
    out.prHead = sha(ev?.pull_request?.head?.sha);
    out.prBase = sha(ev?.pull_request?.base?.sha);
  }
  return out;
}

/**
 * Diff ranges to try, best first: an explicit base; on a pull request the PR's own changes — base...head
 * (GitHub's "Files changed": needs both commits and their merge base, i.e. `fetch-depth: 0`), then the test
 * merge commit against its first parent (the default pull_request checkout with `fetch-depth: 2`); then
 * origin/<base branch>, the push's "before" commit, and the parent commit.
 */
export function diffRanges(flags: ContextFlags, env: NodeJS.ProcessEnv, ev: EventInfo = readEvent(env)): string[] {
  const ranges: string[] = [];
  if (flags.base) ranges.push(`${flags.base}...HEAD`);
  if (ev.prBase && ev.prHead) ranges.push(`${ev.prBase}...${ev.prHead}`);
  if (ev.prHead) ranges.push(`merge-parent:${ev.prHead}`);
  if (env.GITHUB_BASE_REF) ranges.push(`origin/${env.GITHUB_BASE_REF}...HEAD`);
  if (ev.before) ranges.push(`${ev.before}..HEAD`);
  ranges.push('HEAD~1..HEAD');
  return ranges;
}

/** Checkout-depth advice for the "no change information" warning. */
export const FETCH_DEPTH_HINT =
  'use actions/checkout with fetch-depth: 2 (fetch-depth: 0 when checking out the pull request head instead of the merge commit)';

export function gitChanges(
  flags: ContextFlags,
  env: NodeJS.ProcessEnv,
  git: GitRunner = runGit,
): { summary: NumstatSummary; range: string } | { error: string } {
  const cwd = flags.cwd ?? env.GITHUB_WORKSPACE ?? process.cwd();
  let lastError = 'no diff range';
  for (const range of diffRanges(flags, env)) {
    try {
      let r = range;
      if (range.startsWith('merge-parent:')) {
        // Only when HEAD is the test merge commit of this PR head: then HEAD^1 is the base it merged into.
        if (git(['rev-parse', '--verify', '--quiet', 'HEAD^2'], cwd).trim() !== range.slice('merge-parent:'.length))
          continue;
        r = 'HEAD^1..HEAD';
      }
      return { summary: parseNumstat(git(['diff', '--numstat', '-z', '--no-renames', r], cwd)), range: r };
    } catch (err) {
      lastError = `git diff ${range}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0]}`;
    }
  }
  return { error: lastError };
}

const nonEmpty = (...vals: (string | undefined)[]) => vals.find((v) => v !== undefined && v !== '');

export function collectContext(
  flags: ContextFlags,
  env: NodeJS.ProcessEnv,
  git: GitRunner = runGit,
): { request: RiskRequestInput; warnings: string[] } {
  const warnings: string[] = [];
  const attempt = Number(env.GITHUB_RUN_ATTEMPT);
  const ev = readEvent(env);
  const request: RiskRequestInput = {
    repo: nonEmpty(flags.repo, env.GITHUB_REPOSITORY) ?? '',
    head_sha: nonEmpty(flags.sha, ev.prHead, env.GITHUB_SHA) ?? null,
    head_branch: nonEmpty(flags.branch, env.GITHUB_HEAD_REF, env.GITHUB_REF_NAME) ?? null,
    event: nonEmpty(flags.event, env.GITHUB_EVENT_NAME) ?? null,
    // GITHUB_ACTOR is the run's `actor` (who started the run; a re-run keeps it), which ingest stores
    // (src/github/map.ts); GITHUB_TRIGGERING_ACTOR is whoever started this attempt. Training and serving
    // must see the same author, so the run's actor it is.
    actor: nonEmpty(flags.actor, env.GITHUB_ACTOR, env.GITHUB_TRIGGERING_ACTOR) ?? null,
    workflow: nonEmpty(flags.workflow, env.GITHUB_WORKFLOW) ?? null,
    run_attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : null,
  };
  if (flags.diff !== false) {
    const changes = gitChanges(flags, env, git);
    if ('error' in changes) warnings.push(`no change information (${changes.error}); ${FETCH_DEPTH_HINT}`);
    else {
      request.files = changes.summary.files.slice(0, 10_000);
      request.files_changed = changes.summary.files.length;
      request.additions = changes.summary.additions;
      request.deletions = changes.summary.deletions;
    }
  }
  if (flags.filesChanged !== undefined) request.files_changed = flags.filesChanged;
  if (flags.additions !== undefined) request.additions = flags.additions;
  if (flags.deletions !== undefined) request.deletions = flags.deletions;
  if (flags.serviceHealth && Object.keys(flags.serviceHealth).length) request.service_health = flags.serviceHealth;
  return { request, warnings };
}
