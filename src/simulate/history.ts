/**
 * A seeded, discrete-event simulation of a small team's GitHub Actions history. It exists so a fresh clone
 * has a realistic history to train on and tests have one to assert against; every mechanism below really
 * drives outcomes so a model can learn it (see docs/simulator.md for the story and the parameters).
 *
 * Pure: no clock, no I/O, no Math.random. The only impure step is the final guard that refuses to return
 * timestamps in the future (the canonical record schema would reject them anyway).
 */
import type { RunRecord } from '../records/schema.ts';
import { Calendar } from '../features/calendar.ts';
import { createRng, deriveSeed, type Rng } from './prng.ts';
import { pickFiles, repoLayout, type ChangeKind, type RepoLayout } from './files.ts';

export interface SimulateOptions {
  seed?: number;
  /** A number of repos (names from a built-in list) or explicit "owner/name" repos. */
  repos?: number | string[];
  runsPerRepo?: number;
  /** ISO instant where the history starts. */
  start?: string;
  /** IANA zone the team works in: drives busy hours, off-hours and Friday-afternoon risk. */
  timezone?: string;
  /**
   * Epoch ms the history must end before: each repo's history is moved by whole weeks (so weekdays and local
   * hours keep their meaning) until its last completion lies in the week before it. The bundled sample passes
   * the current time, so a fresh clone's history is recent whenever it starts; its shape is fixed by the seed.
   */
  endBefore?: number;
}

export const SIM_DEFAULTS = {
  seed: 42,
  repos: 3,
  runsPerRepo: 2000,
  start: '2025-01-06T00:00:00Z',
  timezone: 'UTC',
} as const;

/** The bundled sample history every fresh clone trains on: `sampleHistory()` (ending in the week before now). */
export const SAMPLE_HISTORY_OPTIONS: Readonly<SimulateOptions> = Object.freeze({ seed: 42 });

/** The bundled sample, moved by whole weeks to end in the week before `now`. */
export function sampleHistory(now = Date.now()): RunRecord[] {
  return simulateHistory({ ...SAMPLE_HISTORY_OPTIONS, endBefore: now });
}

const DEFAULT_REPOS = [
  'acme/web',
  'acme/api',
  'acme/mobile',
  'acme/infra',
  'acme/payments',
  'acme/search',
  'acme/admin',
  'acme/docs-site',
];

/**
 * Every coefficient of the outcome model, in one place so docs/simulator.md and the tests can refer to it.
 * Breakage risk is a logistic model: P(commit breaks the build) = sigmoid(sum of the terms that apply).
 */
export const SIM_PARAMS = {
  risk: {
    /** Per-repo intercept is drawn around this. */
    base: -3.2,
    /**
     * Repos differ: dlci-dev's five repos fail 26–62 % of their runs (mean 0.357), travis-dev's 0–100 %
     * (mean 0.33); ±0.45 on the intercept gives the sample's three repos 0.32–0.44.
     */
    baseSpread: 0.45,
    /** Touches a dependency manifest or lockfile. */
    dependencies: 1.1,
    /** Touches CI configuration (.github/workflows, Dockerfile). */
    ciConfig: 1.8,
    /** Per doubling of (1 + churn / 100 lines). */
    churnPerDoubling: 0.6,
    /** Per doubling of (1 + files touched). */
    filesPerDoubling: 0.15,
    /** Only documentation touched. */
    docsOnly: -1.8,
    /** Local time before 08:00, from 20:00, or at the weekend (humans only). */
    offHours: 0.8,
    /** Friday from 15:00 local time (humans only). */
    fridayAfternoon: 0.7,
    /** A merge to main of a branch whose CI was green still breaks main sometimes (semantic conflicts). */
    mergeOffset: -1.6,
    /** Authors' skill offsets are drawn from [min, max] (negative = careful). */
    authorSkill: [-0.8, 0.9] as const,
  },
  /**
   * Chance that a fix-up commit (pushed after its author sees the break) really fixes it. This sets how long
   * failures last. Measured with training/history-stats.ts (`npm run bench -- ml-history`): in dlci-dev
   * P(fail | previous failed) = 0.696, P(fail | previous succeeded) = 0.197, failure streaks 3.29 runs on
   * average (p90 6), 30 % of failures follow a success; travis-dev 0.683 / 0.129 / 3.13 (p90 5) / 32 %.
   * At 0.8 the sample had 0.51 / 0.17 / 2.05 / 49 %, base rate 0.26; at 0.3 (with the flaky range below) it
   * has 0.69 / 0.19 / 3.24 (p90 8) / 31 %, base rate 0.38 (dlci-dev 0.357 per repo, 0.39 pooled).
   */
  fixupSuccess: 0.3,
  /** Chance that an ordinary commit on a broken line happens to fix it. */
  incidentalFix: 0.3,
  /** Fix-up delay after the failure is seen: log-normal median (minutes), then moved into working hours. */
  fixupDelayMedianMin: 50,
  /** A broken line fails its runs with this probability (a few tests do not cover the breakage). */
  brokenFails: 0.97,
  /** A pull request run also fails with this chance while main is broken (the merge ref includes main). */
  brokenMainLeaksToPr: 0.8,
  /**
   * Flaky-failure probability per run, drawn per repo in [min, max]; nightly runs are more flaky. Isolated
   * failures lower P(fail | previous failed); travis-dev's commits built more than once differ in outcome in
   * 10.4 % of cases (the sample: 10.3 % at this range, 14 % at the former 2.5–6 %).
   */
  flaky: [0.015, 0.04] as const,
  nightlyFlakyFactor: 2,
  /** Chance a failed run is re-run by a human; infra failures are more obviously worth a re-run. */
  rerun: 0.3,
  rerunInfra: 0.5,
  rerunAgainAfterFailure: 0.15,
  rerunDelayMeanMin: 20,
  /** Infrastructure outages shared by all repos: mean gap (days), median length (minutes), failure chance. */
  outageGapMeanDays: 9,
  outageMedianMin: 50,
  outageFailRange: [0.6, 0.95] as const,
  /** Small background rates. */
  hangTimeout: 0.003,
  userCancel: 0.01,
  /** Peak arrival rate of human activity (actions per hour at 10:00 on a weekday) per repo, drawn in [min, max]. */
  peakActionsPerHour: [1.6, 2.8] as const,
  /** Chance an author with no open branch pushes straight to main. */
  directPush: [0.1, 0.3] as const,
  workflowDispatch: 0.02,
  /** Share of repos that merge pull requests by fast-forward (main gets the PR's own commit sha). */
  fastForwardRepos: 0.5,
  /** Extra commits on a feature branch beyond the first: Poisson mean. */
  extraBranchCommits: 1.5,
  /**
   * Share of runs whose record carries neither the change (files, size) nor the actor, whatever the outcome:
   * histories exported by a CI that does not report them, or posted outcomes without them. Without it only
   * scheduled and dispatched runs lacked a change, so a model learnt "no change details = nightly = flaky"
   * and scored any bare pre-build check (no files posted) up by that.
   */
  unknownDetails: 0.1,
} as const;

/** Relative human activity by local hour on a weekday; weekends use WEEKEND_ACTIVITY. */
const WEEKDAY_ACTIVITY = [
  0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.06, 0.2, 0.5, 0.95, 1, 1, 0.6, 0.8, 1, 0.95, 0.9, 0.7, 0.45, 0.25, 0.18, 0.15,
  0.1, 0.05,
];
const WEEKEND_ACTIVITY = 0.07;

interface Author {
  login: string;
  skill: number;
  activity: number;
  /** Night owls do a larger share of their work off-hours (and so carry the off-hours risk more often). */
  nightOwl: boolean;
  bot: boolean;
}

interface Change {
  files: string[];
  additions: number;
  deletions: number;
}

interface SimRun {
  rec: RunRecord;
  /** The newest attempt of this run (re-runs replace it). */
  last: RunRecord;
  /** The commit (or merge ref) under test is broken: re-runs fail too. */
  broken: boolean;
  line: Line | null;
}

interface Line {
  name: string;
  isMain: boolean;
  owner: Author;
  broken: boolean;
  brokenBy: Author | null;
  brokenChange: Change | null;
  sha: string;
  planned: number;
  done: number;
  kind: ChangeKind;
  change: Change;
  open: boolean;
  lastRun: SimRun | null;
  bot: boolean;
  mergeTries: number;
}

type Ev =
  | { kind: 'action' }
  | { kind: 'nightly' }
  | { kind: 'dependabot' }
  | { kind: 'fixup'; line: Line; sha: string }
  | { kind: 'botmerge'; line: Line }
  | { kind: 'rerun'; run: SimRun };

interface Queued {
  t: number;
  seq: number;
  ev: Ev;
}

const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
const MIN = 60_000;
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Outage windows shared across repos, drawn lazily in time order from their own stream so every repo sees the same ones. */
class Outages {
  private readonly rng: Rng;
  private readonly windows: { from: number; to: number; fail: number }[] = [];
  private horizon: number;
  constructor(seed: number, start: number) {
    this.rng = createRng(deriveSeed(seed, 'outages'));
    this.horizon = start;
  }
  /** The failure chance of an outage covering `t`, or 0. */
  at(t: number): number {
    while (this.horizon <= t) {
      const from = this.horizon + this.rng.exp(SIM_PARAMS.outageGapMeanDays * 24 * HOUR);
      const to = from + this.rng.lognormal(SIM_PARAMS.outageMedianMin * MIN, 0.6);
      const [lo, hi] = SIM_PARAMS.outageFailRange;
      this.windows.push({ from, to, fail: lo + this.rng.next() * (hi - lo) });
      this.horizon = to;
    }
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const w = this.windows[i];
      if (w.to <= t) break;
      if (w.from <= t) return w.fail;
    }
    return 0;
  }
}

const FIRST_NAMES = [
  'alice',
  'bob',
  'carol',
  'dan',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'ken',
  'lena',
  'mallory',
  'niaj',
  'olga',
  'peggy',
];

function makeTeam(rng: Rng): Author[] {
  const size = rng.int(4, 7);
  const names = [...FIRST_NAMES];
  const team: Author[] = [];
  const [lo, hi] = SIM_PARAMS.risk.authorSkill;
  for (let i = 0; i < size; i++) {
    const login = names.splice(rng.int(0, names.length - 1), 1)[0] + '-' + rng.pick(['dev', 'codes', 'gh', 'eng', 'x']);
    team.push({
      login,
      skill: lo + rng.next() * (hi - lo),
      activity: rng.lognormal(1, 0.5),
      nightOwl: rng.chance(0.2),
      bot: false,
    });
  }
  return team;
}

class RepoSim {
  private readonly rng: Rng;
  private readonly layout: RepoLayout;
  private readonly team: Author[];
  private readonly dependabot: Author = { login: 'dependabot[bot]', skill: 0, activity: 0, nightOwl: false, bot: true };
  private readonly main: Line;
  private readonly openBranches = new Map<Author, Line>();
  private readonly queue: Queued[] = [];
  private seq = 0;
  private runId: number;
  readonly runs: SimRun[] = [];
  private readonly baseRisk: number;
  private readonly flaky: number;
  private readonly peak: number;
  private readonly directPush: number;
  private readonly ciMedianMs: number;
  private readonly nightlyMedianMs: number;
  private readonly cancelInProgress: boolean;
  private readonly fastForward: boolean;
  /** Its own stream, so which records lack details does not move any other draw. */
  private readonly details: Rng;

  constructor(
    readonly repo: string,
    seed: number,
    private readonly start: number,
    private readonly cal: Calendar,
    private readonly outages: Outages,
  ) {
    const rng = (this.rng = createRng(deriveSeed(seed, repo)));
    this.details = createRng(deriveSeed(seed, repo + '\u0000details'));
    this.layout = repoLayout(rng);
    this.team = makeTeam(rng);
    this.baseRisk = SIM_PARAMS.risk.base + (rng.next() * 2 - 1) * SIM_PARAMS.risk.baseSpread;
    const [fl, fh] = SIM_PARAMS.flaky;
    this.flaky = fl + rng.next() * (fh - fl);
    const [pl, ph] = SIM_PARAMS.peakActionsPerHour;
    this.peak = pl + rng.next() * (ph - pl);
    const [dl, dh] = SIM_PARAMS.directPush;
    this.directPush = dl + rng.next() * (dh - dl);
    this.ciMedianMs = rng.lognormal(9, 0.3) * MIN;
    this.nightlyMedianMs = rng.lognormal(35, 0.3) * MIN;
    this.cancelInProgress = rng.chance(0.8);
    this.fastForward = rng.chance(SIM_PARAMS.fastForwardRepos);
    this.runId = 9_000_000_000 + rng.int(0, 900_000_000);
    this.main = this.newLine('main', true, this.team[0], 'feature', false);
    this.main.sha = rng.hex(40);
    this.push(start + rng.exp(HOUR / this.peak), { kind: 'action' });
    this.push(this.nextNightly(start), { kind: 'nightly' });
    this.push(this.nextDependabot(start), { kind: 'dependabot' });
  }

  private newLine(name: string, isMain: boolean, owner: Author, kind: ChangeKind, bot: boolean): Line {
    return {
      name,
      isMain,
      owner,
      kind,
      bot,
      broken: false,
      brokenBy: null,
      brokenChange: null,
      sha: '',
      planned: 1,
      done: 0,
      change: { files: [], additions: 0, deletions: 0 },
      open: true,
      lastRun: null,
      mergeTries: 0,
    };
  }

  private push(t: number, ev: Ev): void {
    this.queue.push({ t, seq: this.seq++, ev });
  }

  private pop(): Queued | undefined {
    if (this.queue.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.queue.length; i++) {
      const a = this.queue[i];
      const b = this.queue[best];
      if (a.t < b.t || (a.t === b.t && a.seq < b.seq)) best = i;
    }
    const q = this.queue[best];
    this.queue[best] = this.queue[this.queue.length - 1];
    this.queue.pop();
    return q;
  }

  private activity(t: number): number {
    const { hour, weekday } = this.cal.at(t);
    return weekday === 0 || weekday === 6 ? WEEKEND_ACTIVITY : WEEKDAY_ACTIVITY[hour];
  }

  private isOffHours(t: number): boolean {
    const { hour, weekday } = this.cal.at(t);
    return weekday === 0 || weekday === 6 || hour < 8 || hour >= 20;
  }

  private isFridayAfternoon(t: number): boolean {
    const { hour, weekday } = this.cal.at(t);
    return weekday === 5 && hour >= 15;
  }

  /** Next human action by thinning a Poisson process whose rate follows the working-hours profile. */
  private nextAction(t: number): number {
    for (;;) {
      t += this.rng.exp(HOUR / this.peak);
      if (this.rng.next() < this.activity(t)) return t;
    }
  }

  /** People notice failures and fix them in working hours, so a delay landing off-hours waits for the morning. */
  private inWorkingHours(t: number, owl: boolean): number {
    if (owl) return t;
    for (let i = 0; i < 96 && this.isOffHours(t); i++) t += HOUR * (0.5 + this.rng.next());
    return t;
  }

  private nextNightly(after: number): number {
    // Nightly cron at 03:00 UTC, as GitHub schedules are UTC.
    const d = new Date(after);
    let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 3, 0, 0);
    if (t <= after) t += 24 * HOUR;
    return t + this.rng.int(0, 15 * 60) * 1000; // GitHub starts scheduled runs late under load
  }

  private nextDependabot(after: number): number {
    // Weekly on Monday around 05:00 UTC.
    const d = new Date(after);
    let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 5, 0, 0);
    while (t <= after || new Date(t).getUTCDay() !== 1) t += 24 * HOUR;
    return t + this.rng.int(0, 40 * 60) * 1000;
  }

  private risk(change: Change, author: Author, t: number): number {
    const p = SIM_PARAMS.risk;
    let x = this.baseRisk + author.skill;
    const f = change.files;
    if (f.some((x) => /(^|\/)(package\.json|package-lock\.json)$/.test(x))) x += p.dependencies;
    if (f.some((x) => x.startsWith('.github/workflows/') || x === 'Dockerfile')) x += p.ciConfig;
    if (f.length > 0 && f.every((x) => x.startsWith('docs/') || x.endsWith('.md'))) x += p.docsOnly;
    x += p.churnPerDoubling * Math.log2(1 + (change.additions + change.deletions) / 100);
    x += p.filesPerDoubling * Math.log2(1 + f.length);
    // Tiredness and end-of-week haste are human traits: bots' scheduled pushes carry no time-of-day risk.
    if (!author.bot && this.isOffHours(t)) x += p.offHours;
    if (!author.bot && this.isFridayAfternoon(t)) x += p.fridayAfternoon;
    return x;
  }

  /** `near`: files of the work this change continues, so fix-ups and follow-ups touch the same places. */
  private newChange(kind: ChangeKind, near: readonly string[] | null): Change {
    const files = pickFiles(this.rng, this.layout, kind, near ?? undefined);
    const rng = this.rng;
    let additions: number;
    let deletions: number;
    switch (kind) {
      case 'deps':
        additions = Math.round(rng.lognormal(120, 1));
        deletions = Math.round(additions * (0.5 + rng.next() * 0.5));
        break;
      case 'refactor':
        additions = Math.round(rng.lognormal(350, 0.7));
        deletions = Math.round(additions * (0.6 + rng.next() * 0.6));
        break;
      case 'fixup':
        additions = Math.round(rng.lognormal(8, 0.8)) + 1;
        deletions = Math.round(rng.lognormal(5, 0.8));
        break;
      case 'docs':
        additions = Math.round(rng.lognormal(25, 1)) + 1;
        deletions = Math.round(rng.lognormal(8, 1));
        break;
      case 'ci':
        additions = Math.round(rng.lognormal(10, 0.7)) + 1;
        deletions = Math.round(rng.lognormal(5, 0.7));
        break;
      default:
        additions = Math.round(rng.lognormal(kind === 'bugfix' ? 20 : 70, 0.9)) + 1;
        deletions = Math.round(rng.lognormal(kind === 'bugfix' ? 10 : 25, 0.9));
    }
    return { files, additions, deletions };
  }

  /** Applies a commit to a line: a fix-up may clear breakage, otherwise the change may break the line. */
  private commit(line: Line, change: Change, author: Author, t: number, fixChance: number, riskOffset = 0): void {
    if (line.broken && this.rng.chance(fixChance)) {
      line.broken = false;
      line.brokenBy = null;
      line.brokenChange = null;
    } else if (!line.broken && this.rng.chance(sigmoid(this.risk(change, author, t) + riskOffset))) {
      line.broken = true;
      line.brokenBy = author;
      line.brokenChange = change;
    }
    line.sha = this.rng.hex(40);
  }

  private startRun(
    t: number,
    line: Line,
    workflow: string,
    event: string,
    actor: Author,
    change: Change | null,
  ): SimRun {
    // A newer push to a pull request branch cancels the run still in progress (concurrency: cancel-in-progress).
    const prev = line.lastRun ? this.lastAttempt(line.lastRun) : null;
    if (
      !line.isMain &&
      prev &&
      this.cancelInProgress &&
      prev.conclusion !== 'cancelled' &&
      Date.parse(prev.completed_at!) > t
    ) {
      prev.conclusion = 'cancelled';
      prev.completed_at = new Date(
        Math.max(t + this.rng.int(2, 15) * 1000, Date.parse(prev.run_started_at!) + 1000),
      ).toISOString();
    }
    const broken = line.broken || (!line.isMain && this.main.broken && this.rng.chance(SIM_PARAMS.brokenMainLeaksToPr));
    const rec: RunRecord = {
      repo: this.repo,
      run_id: String((this.runId += this.rng.int(1, 4000))),
      created_at: new Date(t).toISOString(),
      workflow,
      run_attempt: 1,
      head_sha: line.sha,
      head_branch: line.name,
      event,
      actor: actor.login,
      run_started_at: null,
      completed_at: null,
      conclusion: null,
      files_changed: change ? change.files.length : null,
      additions: change ? change.additions : null,
      deletions: change ? change.deletions : null,
      files: change ? [...change.files] : null,
    };
    if (this.details.chance(SIM_PARAMS.unknownDetails)) {
      rec.actor = null;
      rec.files = rec.files_changed = rec.additions = rec.deletions = null;
    }
    const run: SimRun = { rec, last: rec, broken, line };
    this.execute(run, rec, t);
    this.runs.push(run);
    line.lastRun = run;
    return run;
  }

  private lastAttempt(run: SimRun): RunRecord {
    return run.last;
  }

  /** Decides one attempt's queue delay, outcome and duration, and schedules what people do about a failure. */
  private execute(run: SimRun, rec: RunRecord, t: number): void {
    const rng = this.rng;
    const nightly = rec.workflow === 'nightly';
    let queue = rng.lognormal(8_000, 0.8) * (1 + this.activity(t));
    const outageAtQueue = this.outages.at(t);
    if (outageAtQueue > 0) queue += rng.lognormal(4 * MIN, 0.7);
    const started = t + queue;
    const outage = this.outages.at(started);
    const typical = rng.lognormal(nightly ? this.nightlyMedianMs : this.ciMedianMs, 0.25);
    const timeoutMs = (nightly ? 120 : 60) * MIN;
    let conclusion: string;
    let duration: number;
    let cause: 'broken' | 'infra' | 'flaky' | 'none' = 'none';
    if (run.broken && rng.chance(SIM_PARAMS.brokenFails)) {
      conclusion = 'failure';
      cause = 'broken';
      duration = typical * (0.3 + 0.7 * rng.next());
    } else if (outage > 0 && rng.chance(outage)) {
      cause = 'infra';
      if (rng.chance(0.2)) {
        conclusion = 'timed_out';
        duration = timeoutMs + rng.int(5, 60) * 1000;
      } else {
        conclusion = 'failure';
        duration = rng.lognormal(90_000, 0.5);
      }
    } else if (rng.chance(this.flaky * (nightly ? SIM_PARAMS.nightlyFlakyFactor : 1))) {
      conclusion = 'failure';
      cause = 'flaky';
      duration = typical * (0.5 + 0.5 * rng.next());
    } else if (rng.chance(SIM_PARAMS.hangTimeout)) {
      conclusion = 'timed_out';
      duration = timeoutMs + rng.int(5, 60) * 1000;
    } else {
      conclusion = 'success';
      duration = typical;
    }
    if (rng.chance(SIM_PARAMS.userCancel)) {
      conclusion = 'cancelled';
      duration *= 0.1 + 0.7 * rng.next();
    }
    const completed = started + duration;
    rec.run_started_at = new Date(started).toISOString();
    rec.completed_at = new Date(completed).toISOString();
    rec.conclusion = conclusion;

    if (conclusion !== 'failure' && conclusion !== 'timed_out') return;
    const rerunChance =
      rec.run_attempt === 1
        ? cause === 'infra'
          ? SIM_PARAMS.rerunInfra
          : SIM_PARAMS.rerun
        : rec.run_attempt === 2
          ? SIM_PARAMS.rerunAgainAfterFailure
          : 0;
    if (rng.chance(rerunChance))
      this.push(completed + rng.exp(SIM_PARAMS.rerunDelayMeanMin * MIN), { kind: 'rerun', run });
    const line = run.line;
    if (cause === 'broken' && line && rec.run_attempt === 1 && line.broken && line.sha === rec.head_sha) {
      const fixer = line.isMain ? (line.brokenBy && !line.brokenBy.bot ? line.brokenBy : this.team[0]) : line.owner;
      const when = this.inWorkingHours(
        completed + rng.lognormal(SIM_PARAMS.fixupDelayMedianMin * MIN, 0.8),
        fixer.nightOwl,
      );
      if (!line.bot || rng.chance(0.5)) this.push(when, { kind: 'fixup', line, sha: line.sha });
    }
  }

  private rerun(run: SimRun, t: number): void {
    const last = this.lastAttempt(run);
    if (last.conclusion !== 'failure' && last.conclusion !== 'timed_out') return;
    // A re-run keeps the original created_at (as GitHub reports it); only the attempt's start moves.
    const rec: RunRecord = { ...last, files: last.files ? [...last.files] : null, run_attempt: last.run_attempt + 1 };
    run.last = rec;
    this.execute(run, rec, t);
    this.runs.push({ rec, last: rec, broken: run.broken, line: run.line });
  }

  private pickAuthor(t: number): Author {
    const off = this.isOffHours(t);
    const w = this.team.map((a) => a.activity * (off && a.nightOwl ? 4 : 1));
    return this.team[this.rng.weighted(w)];
  }

  private pickKind(): ChangeKind {
    const kinds: ChangeKind[] = ['feature', 'bugfix', 'refactor', 'docs', 'deps', 'ci', 'test'];
    return kinds[this.rng.weighted([0.4, 0.22, 0.06, 0.1, 0.06, 0.05, 0.11])];
  }

  private merge(line: Line, t: number, by: Author): void {
    this.commit(this.main, line.change, by, t, 0, SIM_PARAMS.risk.mergeOffset);
    // Fast-forward merges put the tested pull-request commit itself on main; merge/squash makes a new commit.
    if (this.fastForward) this.main.sha = line.sha;
    line.open = false;
    if (this.openBranches.get(line.owner) === line) this.openBranches.delete(line.owner);
    this.startRun(t, this.main, 'ci', 'push', by, line.change);
  }

  private action(t: number): void {
    const rng = this.rng;
    const author = this.pickAuthor(t);
    if (rng.chance(SIM_PARAMS.workflowDispatch)) {
      this.startRun(t, this.main, 'ci', 'workflow_dispatch', author, null);
      return;
    }
    const branch = this.openBranches.get(author);
    if (branch) {
      const last = branch.lastRun ? this.lastAttempt(branch.lastRun) : null;
      if (branch.done >= branch.planned && last?.conclusion === 'success') {
        this.merge(branch, t, author);
        return;
      }
      const kind =
        branch.done >= branch.planned
          ? 'fixup'
          : branch.kind === 'docs'
            ? 'docs'
            : rng.chance(0.3)
              ? 'test'
              : branch.kind;
      const change = this.newChange(kind, branch.change.files);
      this.commit(branch, change, author, t, SIM_PARAMS.incidentalFix);
      this.accumulate(branch, change);
      branch.done++;
      this.startRun(t, branch, 'ci', 'pull_request', author, change);
      return;
    }
    const kind = this.pickKind();
    if (rng.chance(this.directPush) && kind !== 'refactor') {
      const change = this.newChange(kind, null);
      this.commit(this.main, change, author, t, SIM_PARAMS.incidentalFix);
      this.startRun(t, this.main, 'ci', 'push', author, change);
      return;
    }
    const slug = `${rng.pick(this.layout.modules)}-${rng.pick(['update', 'cleanup', 'support', 'v2', 'perf', 'retry', 'cache', 'limits', 'errors'])}`;
    const prefix =
      kind === 'bugfix' ? 'fix' : kind === 'docs' ? 'docs' : kind === 'deps' ? 'chore' : kind === 'ci' ? 'ci' : 'feat';
    const line = this.newLine(`${prefix}/${slug}-${rng.int(1, 999)}`, false, author, kind, false);
    line.planned = 1 + rng.poisson(SIM_PARAMS.extraBranchCommits);
    line.sha = this.main.sha;
    this.openBranches.set(author, line);
    const change = this.newChange(kind, null);
    this.commit(line, change, author, t, 0);
    this.accumulate(line, change);
    line.done = 1;
    this.startRun(t, line, 'ci', 'pull_request', author, change);
  }

  private accumulate(line: Line, change: Change): void {
    const files = new Set(line.change.files);
    for (const f of change.files) files.add(f);
    line.change = {
      files: [...files],
      additions: line.change.additions + change.additions,
      deletions: line.change.deletions + change.deletions,
    };
  }

  private dependabotPrs(t: number): void {
    const n = this.rng.int(0, 3);
    for (let i = 0; i < n; i++) {
      const at = t + i * this.rng.int(20, 120) * 1000;
      const pkg = this.rng.pick(this.layout.packages);
      const ver = `${this.rng.int(1, 9)}.${this.rng.int(0, 20)}.${this.rng.int(0, 30)}`;
      const maintainer = this.team[this.rng.weighted(this.team.map((a) => a.activity))];
      const line = this.newLine(`dependabot/npm_and_yarn/${pkg}-${ver}`, false, maintainer, 'deps', true);
      line.sha = this.main.sha;
      const change = this.newChange('deps', null);
      this.commit(line, change, this.dependabot, at, 0);
      this.accumulate(line, change);
      line.done = 1;
      const run = this.startRun(at, line, 'ci', 'pull_request', this.dependabot, change);
      this.push(this.inWorkingHours(Date.parse(run.rec.completed_at!) + this.rng.lognormal(4 * HOUR, 0.8), false), {
        kind: 'botmerge',
        line,
      });
    }
  }

  private botMerge(line: Line, t: number): void {
    if (!line.open) return;
    const last = line.lastRun ? this.lastAttempt(line.lastRun) : null;
    if (last?.conclusion === 'success') {
      this.merge(line, t, line.owner);
    } else if (++line.mergeTries < 3) {
      this.push(this.inWorkingHours(t + this.rng.lognormal(6 * HOUR, 0.8), false), { kind: 'botmerge', line });
    } else {
      line.open = false; // closed unmerged; dependabot opens a newer version later
    }
  }

  private fixup(line: Line, sha: string, t: number): void {
    if (!line.open || !line.broken || line.sha !== sha) return;
    const author = line.isMain ? (line.brokenBy && !line.brokenBy.bot ? line.brokenBy : this.team[0]) : line.owner;
    const near = line.isMain ? (line.brokenChange?.files ?? null) : line.change.files;
    const change = this.newChange('fixup', near);
    this.commit(line, change, author, t, SIM_PARAMS.fixupSuccess);
    if (!line.isMain) {
      this.accumulate(line, change);
      line.done++;
    }
    this.startRun(t, line, 'ci', line.isMain ? 'push' : 'pull_request', author, change);
  }

  /** Runs the simulation until at least `n` run records exist (plus slack so re-runs of early runs land). */
  simulate(n: number): void {
    const slack = 60;
    while (this.runs.length < n + slack) {
      const q = this.pop();
      if (!q) break;
      const { t, ev } = q;
      switch (ev.kind) {
        case 'action':
          this.action(t);
          this.push(this.nextAction(t), { kind: 'action' });
          break;
        case 'nightly':
          this.startRun(t, this.main, 'nightly', 'schedule', this.team[0], null);
          this.push(this.nextNightly(t + HOUR), { kind: 'nightly' });
          break;
        case 'dependabot':
          this.dependabotPrs(t);
          this.push(this.nextDependabot(t + HOUR), { kind: 'dependabot' });
          break;
        case 'fixup':
          this.fixup(ev.line, ev.sha, t);
          break;
        case 'botmerge':
          this.botMerge(ev.line, t);
          break;
        case 'rerun':
          this.rerun(ev.run, t);
          break;
      }
    }
  }
}

function compareRuns(a: RunRecord, b: RunRecord): number {
  if (a.repo !== b.repo) return a.repo < b.repo ? -1 : 1;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  if (a.run_id !== b.run_id) return a.run_id.length - b.run_id.length || (a.run_id < b.run_id ? -1 : 1);
  return a.run_attempt - b.run_attempt;
}

export function resolveRepos(repos: number | string[] | undefined): string[] {
  if (Array.isArray(repos)) {
    for (const r of repos)
      if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(r)) throw new RangeError(`repos: "${r}" must be "owner/name"`);
    if (new Set(repos).size !== repos.length) throw new RangeError('repos: names must be distinct');
    return [...repos];
  }
  const n = repos ?? SIM_DEFAULTS.repos;
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new RangeError(`repos: must be an integer from 1 to 1000, got ${n}`);
  return Array.from({ length: n }, (_, i) => DEFAULT_REPOS[i] ?? `acme/service-${i + 1}`);
}

/**
 * Simulates `runsPerRepo` run records for each repo, sorted by (repo, created_at, run_id, run_attempt).
 * Each repo draws from its own stream derived from (seed, repo name), so adding a repo leaves the others unchanged;
 * infrastructure outages come from a shared stream so they hit all repos at the same time.
 */
export function simulateHistory(opts: SimulateOptions = {}): RunRecord[] {
  const seed = opts.seed ?? SIM_DEFAULTS.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`seed: must be an integer from 0 to 4294967295, got ${seed}`);
  const runsPerRepo = opts.runsPerRepo ?? SIM_DEFAULTS.runsPerRepo;
  if (!Number.isInteger(runsPerRepo) || runsPerRepo < 1 || runsPerRepo > 1_000_000) {
    throw new RangeError(`runsPerRepo: must be an integer from 1 to 1000000, got ${runsPerRepo}`);
  }
  const startIso = opts.start ?? SIM_DEFAULTS.start;
  const start = Date.parse(startIso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(startIso) || Number.isNaN(start))
    throw new RangeError(`start: must be an ISO 8601 timestamp, got "${startIso}"`);
  let cal: Calendar;
  try {
    cal = new Calendar(opts.timezone ?? SIM_DEFAULTS.timezone);
  } catch {
    throw new RangeError(`timezone: unknown IANA time zone "${opts.timezone}"`);
  }
  const repos = resolveRepos(opts.repos);
  const outages = new Outages(seed, start);
  const out: RunRecord[] = [];
  for (const repo of repos) {
    const sim = new RepoSim(repo, seed, start, cal, outages);
    sim.simulate(runsPerRepo);
    const recs = sim.runs.map((r) => r.rec).sort(compareRuns);
    for (let i = 0; i < runsPerRepo && i < recs.length; i++) out.push(recs[i]);
  }
  out.sort(compareRuns);
  let latest = 0;
  for (const r of out) latest = Math.max(latest, Date.parse(r.completed_at ?? r.created_at));
  if (opts.endBefore !== undefined) {
    if (!Number.isFinite(opts.endBefore))
      throw new RangeError(`endBefore: must be epoch milliseconds, got ${opts.endBefore}`);
    // Per repo: a busy repo reaches its run count weeks before a quiet one, and each should look live now.
    // (Outages then coincide across repos in shape, not in date.)
    const ends = new Map<string, number>();
    for (const r of out) ends.set(r.repo, Math.max(ends.get(r.repo) ?? 0, Date.parse(r.completed_at ?? r.created_at)));
    const shifts = new Map(
      [...ends].map(([repo, end]) => [repo, Math.floor((opts.endBefore! - 1 - end) / WEEK) * WEEK]),
    );
    latest = 0;
    for (const r of out) {
      const shift = shifts.get(r.repo)!;
      const move = (iso: string | null) => (iso == null ? null : new Date(Date.parse(iso) + shift).toISOString());
      r.created_at = move(r.created_at)!;
      r.run_started_at = move(r.run_started_at);
      r.completed_at = move(r.completed_at);
      latest = Math.max(latest, Date.parse(r.completed_at ?? r.created_at));
    }
  }
  if (latest > Date.now()) {
    throw new RangeError(
      `start: a history from ${startIso} with ${runsPerRepo} runs per repo would end at ${new Date(latest).toISOString()}, in the future; pick an earlier start`,
    );
  }
  return out;
}
