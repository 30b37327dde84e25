import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import cron, { type ScheduledTask } from 'node-cron';
import { Registry } from '../src/registry/registry.ts';
import type { Store } from '../src/store/types.ts';
import type { Alerter } from '../src/alerts/alerter.ts';
import { schedulerConfigFromEnv, type JobName, type SchedulerConfig } from '../src/config/background.ts';
import { evaluateChampion, retrainOnce, type RetrainResult } from './jobs/retrain.ts';
import { shadowReport } from './jobs/shadow.ts';
import { TRIAL_STATE } from '../src/serving/shadow.ts';

/**
 * The background jobs: ingest new history, retrain, re-evaluate the champion. node-cron only says "now";
 * `runJob` does the work, so tests and the fast-clock replay drive ticks directly. Each run holds a store lock
 * with an expiry (one process at a time, a crashed holder does not block forever) and appends a `job` event
 * with its timing and result, which is what `riskgate jobs` and GET /v1/jobs show.
 */
export const JOB_NAMES: readonly JobName[] = ['ingest', 'retrain', 'evaluate'];
export const JOB_EVENT = 'job';

export interface JobEvent {
  job: JobName;
  status: 'ok' | 'error' | 'skipped';
  started_at: string;
  finished_at: string;
  duration_ms: number;
  owner: string;
  /** The scheduler clock's "now" when the tick ran (differs from started_at in a fast-clock replay). */
  tick_at: string;
  result?: Record<string, unknown>;
  error?: string;
  reason?: string;
}

export interface JobInfo {
  name: JobName;
  cron: string;
  running: boolean;
  last: JobEvent | null;
  last_ok: JobEvent | null;
}

export interface SchedulerOptions {
  store: Store;
  /** The store's file, for the retrain child process (it opens its own connection). */
  dbPath?: string;
  modelsDir: string;
  config?: Partial<SchedulerConfig>;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
  /** The scheduler's notion of now; the replay benchmark advances it a week per tick. */
  clock?: () => Date;
  alerter?: Alerter;
  /** Called after the champion pointer changed (promotion), e.g. to reload the serving scorer at once. */
  onChampionChanged?: (id: string) => void;
  /** Observes the retrain child (the kill test uses it). */
  onChild?: (child: ChildProcess) => void;
}

export interface Scheduler {
  readonly config: SchedulerConfig;
  /** `slot`: the cron time the run is for (replicas skip a slot one of them already ran). */
  runJob(name: JobName, slot?: Date): Promise<JobEvent>;
  jobs(): JobInfo[];
  start(): void;
  stop(): void;
  /** An early retrain (drift): runs now unless one is already running. */
  requestRetrain(reason: string): Promise<JobEvent | null>;
}

// Compiled (dist/: the package and the image) the child is JavaScript and tsx, a devDependency, is absent.
const COMPILED = !import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(COMPILED ? './jobs/retrain-child.js' : './jobs/retrain-child.ts', import.meta.url));

export function jobHistory(store: Store, name: JobName, limit = 20): JobEvent[] {
  return store.listEvents(JOB_EVENT, { key: name, limit }).map((e) => e.payload as unknown as JobEvent);
}

/** Schedule, running state (from the lock's point of view: this process only) and last runs, for CLI and API. */
export function describeJobs(
  store: Store,
  cronOf: Record<JobName, string>,
  running: ReadonlySet<string> = new Set(),
): JobInfo[] {
  return JOB_NAMES.map((name) => {
    const hist = jobHistory(store, name, 50);
    return {
      name,
      cron: cronOf[name],
      running: running.has(name),
      last: hist[0] ?? null,
      last_ok: hist.find((e) => e.status === 'ok') ?? null,
    };
  });
}

export function createScheduler(o: SchedulerOptions): Scheduler {
  const config: SchedulerConfig = { ...schedulerConfigFromEnv({}), ...o.config };
  if (!o.dbPath || o.dbPath === ':memory:') config.retrainMode = 'inline';
  const clock = o.clock ?? (() => new Date());
  const log = o.log;
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const running = new Set<JobName>();
  const tasks: ScheduledTask[] = [];

  function retrainInChild(until: string): Promise<RetrainResult> {
    return new Promise((resolve, reject) => {
      const args = JSON.stringify({
        db: o.dbPath,
        modelsDir: o.modelsDir,
        until,
        timezone: config.timezone,
        kinds: config.kinds,
        margins: config.margins,
        shadowTrial: config.shadowTrial,
      });
      const child = fork(CHILD, [args], {
        execArgv: COMPILED ? [] : ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      o.onChild?.(child);
      let result: RetrainResult | null = null;
      let error: string | null = null;
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), config.retrainTimeoutMs);
      child.on('message', (m: { type: string; result?: RetrainResult; message?: string }) => {
        if (m.type === 'result') result = m.result!;
        else if (m.type === 'error') error = m.message ?? 'unknown error';
        else if (m.type === 'log') log?.info({ job: 'retrain' }, m.message ?? '');
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (result) return resolve(result);
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(
          new Error(
            error ??
              `retrain process ${signal ? `killed by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`,
          ),
        );
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async function retrain(): Promise<Record<string, unknown>> {
    const until = clock().toISOString();
    const result =
      config.retrainMode === 'child'
        ? await retrainInChild(until)
        : await retrainOnce({
            store: o.store,
            modelsDir: o.modelsDir,
            until,
            timezone: config.timezone,
            kinds: config.kinds,
            margins: config.margins,
            shadowTrial: config.shadowTrial,
          });
    if (result.promoted) {
      o.store.appendAudit({
        at: new Date().toISOString(),
        actor: 'scheduler',
        action: 'promote',
        subject: result.challenger,
        detail: {
          reason: 'retrain: beat the champion on the newest holdout',
          previous: result.previous_champion,
          reasons: result.decision.reasons,
        },
      });
      o.onChampionChanged?.(result.challenger);
    }
    return result as unknown as Record<string, unknown>;
  }

  async function evaluate(): Promise<Record<string, unknown>> {
    const until = clock().toISOString();
    const offline = await evaluateChampion({
      store: o.store,
      modelsDir: o.modelsDir,
      until,
      timezone: config.timezone,
    });
    const trial = o.store.getState(TRIAL_STATE);
    if (!trial) return { offline };
    const live = shadowReport(o.store, {
      challenger: trial,
      minOutcomes: config.shadowMinOutcomes,
      margins: config.margins,
    });
    const registry = new Registry(o.modelsDir);
    let outcome: string = `waiting for outcomes (${live.labelled}/${live.min_outcomes})`;
    if (live.decision?.promote) {
      const previous = registry.championId() ?? null;
      registry.setChampion(trial);
      o.store.deleteState(TRIAL_STATE);
      o.store.appendAudit({
        at: new Date().toISOString(),
        actor: 'scheduler',
        action: 'promote',
        subject: trial,
        detail: { reason: 'shadow trial: beat the champion on live traffic', previous, reasons: live.decision.reasons },
      });
      o.onChampionChanged?.(trial);
      outcome = 'promoted';
    } else if (live.decision) {
      registry.updateStatus(trial, 'rejected', {
        ...registry.manifest(trial)?.decision,
        live: { reasons: live.decision.reasons, numbers: live.decision.numbers },
      });
      o.store.deleteState(TRIAL_STATE);
      outcome = 'rejected on live traffic';
    }
    return {
      offline,
      shadow: { challenger: trial, labelled: live.labelled, outcome, reasons: live.decision?.reasons ?? [] },
    };
  }

  async function ingest(): Promise<Record<string, unknown>> {
    if (!config.githubToken) return { skipped: 'GITHUB_TOKEN is not set' };
    if (config.repos.length === 0) return { skipped: 'RISKGATE_REPOS is empty' };
    const { createGitHubClient } = await import('../src/github/client.ts');
    const { ingestRepo } = await import('../src/github/ingest.ts');
    const { CircuitBreaker } = await import('../src/github/circuit.ts');
    // Store-backed, so the serving process's /health shows GitHub's state (dependencies.github).
    const client = createGitHubClient({
      token: config.githubToken,
      baseUrl: config.githubBaseUrl,
      circuit: new CircuitBreaker({ name: 'github', store: o.store }),
    });
    const repos: Record<string, unknown>[] = [];
    for (const repo of config.repos) {
      const s = await ingestRepo({ client, store: o.store, repo });
      repos.push({
        repo,
        inserted: s.inserted,
        updated: s.updated,
        runs: s.runs,
        complete: s.complete,
        seconds: s.seconds,
      });
    }
    return { repos };
  }

  const work: Record<JobName, () => Promise<Record<string, unknown>>> = { ingest, retrain, evaluate };

  /**
   * `slot`: the cron time this run is for. Replicas each fire the same tick; the one that gets the lock runs
   * it and marks the slot (before running, so a holder that dies does not get it run a second time), and a
   * replica whose clock or timer fired later than that run finished finds the slot taken.
   */
  async function runJob(name: JobName, slot?: Date): Promise<JobEvent> {
    if (!JOB_NAMES.includes(name)) throw new Error(`unknown job "${name}" (jobs: ${JOB_NAMES.join(', ')})`);
    const startedMs = Date.now();
    const tickAt = clock().toISOString();
    const finish = (
      e: Omit<JobEvent, 'job' | 'started_at' | 'finished_at' | 'duration_ms' | 'owner' | 'tick_at'>,
    ): JobEvent => {
      const ev: JobEvent = {
        job: name,
        started_at: new Date(startedMs).toISOString(),
        finished_at: new Date().toISOString(),
        duration_ms: Date.now() - startedMs,
        owner,
        tick_at: tickAt,
        ...e,
      };
      try {
        o.store.appendEvent(JOB_EVENT, name, ev as unknown as Record<string, unknown>);
      } catch (err) {
        log?.error({ job: name, err }, 'could not record the job run');
      }
      return ev;
    };
    // Overlap with our own previous tick, or another process holding the lock: skip and say so, never stack.
    if (running.has(name)) {
      log?.warn({ job: name }, 'previous run still in progress; tick skipped');
      return finish({ status: 'skipped', reason: 'previous run still in progress in this process' });
    }
    const lock = `job:${name}`;
    const lease = Math.min(config.lockTtlMs[name], config.leaseMs ?? Infinity);
    if (!o.store.tryLock(lock, owner, lease)) {
      log?.warn({ job: name }, 'job lock held by another process; tick skipped');
      return finish({ status: 'skipped', reason: 'lock held by another process' });
    }
    if (slot) {
      const key = `job-slot:${name}`;
      const at = new Date(Math.floor(slot.getTime() / 60_000) * 60_000).toISOString();
      let taken: boolean;
      try {
        taken = o.store.getState(key) === at;
        if (!taken) o.store.setState(key, at);
      } catch (err) {
        o.store.unlock(lock, owner);
        throw err;
      }
      if (taken) {
        o.store.unlock(lock, owner);
        return finish({ status: 'skipped', reason: `already run for the ${at} slot` });
      }
    }
    running.add(name);
    const renew = setInterval(() => {
      try {
        if (!o.store.tryLock(lock, owner, lease))
          log?.error({ job: name }, 'job lock lost to another process while running');
      } catch (err) {
        log?.warn({ job: name, err: (err as Error).message }, 'could not renew the job lock');
      }
    }, lease / 3);
    renew.unref();
    try {
      log?.info({ job: name, tick_at: tickAt }, 'job started');
      const result = await work[name]();
      const ev = finish({ status: 'ok', result });
      log?.info({ job: name, ms: ev.duration_ms }, 'job finished');
      return ev;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log?.error({ job: name, err: message }, 'job failed');
      if (name === 'retrain')
        o.alerter?.alert({
          kind: 'retrain_failed',
          message: `Retrain failed: ${message}`,
          detail: { tick_at: tickAt },
        });
      return finish({ status: 'error', error: message });
    } finally {
      clearInterval(renew);
      running.delete(name);
      try {
        o.store.unlock(lock, owner);
      } catch {
        /* the lock expires on its own */
      }
    }
  }

  return {
    config,
    runJob,
    jobs: () => describeJobs(o.store, config.cron, running),
    start() {
      if (tasks.length) return;
      for (const name of JOB_NAMES) {
        tasks.push(
          cron.schedule(config.cron[name], (ctx) => void runJob(name, ctx?.date), {
            name: `riskgate:${name}`,
            timezone: config.timezone,
          }),
        );
      }
      log?.info({ schedule: config.cron }, 'scheduler started');
    },
    stop() {
      for (const t of tasks.splice(0)) void t.stop();
    },
    async requestRetrain(reason) {
      if (running.has('retrain')) return null;
      log?.info({ reason }, 'early retrain requested');
      return runJob('retrain');
    },
  };
}
