import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RiskRequestInput } from '../api/schemas.ts';

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

export const runGit: GitRunner = (args, cwd) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, timeout: 15_000 });

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

/** Diff ranges to try, best first: the PR base, the push's "before" commit, then the parent commit. */
export function diffRanges(flags: ContextFlags, env: NodeJS.ProcessEnv): string[] {
  const ranges: string[] = [];
  if (flags.base) ranges.push(`${flags.base}...HEAD`);
  if (env.GITHUB_BASE_REF) ranges.push(`origin/${env.GITHUB_BASE_REF}...HEAD`);
  if (env.GITHUB_EVENT_PATH) {
    try {
      const ev = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { before?: string };
      if (typeof ev.before === 'string' && /^[0-9a-f]{40}$/.test(ev.before) && !ZERO_SHA.test(ev.before)) ranges.push(`${ev.before}..HEAD`);
    } catch {
      /* unreadable event payload: fall through to the parent commit */
    }
  }
  ranges.push('HEAD~1..HEAD');
  return ranges;
}

export function gitChanges(flags: ContextFlags, env: NodeJS.ProcessEnv, git: GitRunner = runGit): { summary: NumstatSummary; range: string } | { error: string } {
  const cwd = flags.cwd ?? env.GITHUB_WORKSPACE ?? process.cwd();
  let lastError = 'no diff range';
  for (const range of diffRanges(flags, env)) {
    try {
      return { summary: parseNumstat(git(['diff', '--numstat', '-z', '--no-renames', range], cwd)), range };
    } catch (err) {
      lastError = `git diff ${range}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0]}`;
    }
  }
  return { error: lastError };
}

const nonEmpty = (...vals: (string | undefined)[]) => vals.find((v) => v !== undefined && v !== '');

export function collectContext(flags: ContextFlags, env: NodeJS.ProcessEnv, git: GitRunner = runGit): { request: RiskRequestInput; warnings: string[] } {
  const warnings: string[] = [];
  const attempt = Number(env.GITHUB_RUN_ATTEMPT);
  const request: RiskRequestInput = {
    repo: nonEmpty(flags.repo, env.GITHUB_REPOSITORY) ?? '',
    head_sha: nonEmpty(flags.sha, env.GITHUB_SHA) ?? null,
    head_branch: nonEmpty(flags.branch, env.GITHUB_HEAD_REF, env.GITHUB_REF_NAME) ?? null,
    event: nonEmpty(flags.event, env.GITHUB_EVENT_NAME) ?? null,
    actor: nonEmpty(flags.actor, env.GITHUB_TRIGGERING_ACTOR, env.GITHUB_ACTOR) ?? null,
    workflow: nonEmpty(flags.workflow, env.GITHUB_WORKFLOW) ?? null,
    run_attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : null,
  };
  if (flags.diff !== false) {
    const changes = gitChanges(flags, env, git);
    if ('error' in changes) warnings.push(`no change information (${changes.error})`);
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
