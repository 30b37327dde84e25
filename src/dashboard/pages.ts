/**
 * What each dashboard page draws, read straight from the store and the model registry so it does not depend
 * on other routes' shapes. The router (router.ts) only validates queries and sends these.
 */
import type { SchedulerConfig } from '../config/background.ts';
import { Refusal } from '../errors.ts';
import { Registry, type Manifest } from '../registry/registry.ts';
import { computeDora } from '../report/dora.ts';
import type { RunRecord } from '../records/schema.ts';
import { RISK_EVENT } from '../serving/risk-log.ts';
import type { Store } from '../store/types.ts';
import { maySeeRollout, type Tenant } from '../tenancy.ts';
import { SIMULATED_SERVICE_PREFIX } from '../canary/policies.ts';
import {
  canaryDecisions,
  jobRuns,
  jobSummary,
  joinOutcomes,
  riskEventId,
  riskRow,
  schedule,
  summariseRuns,
  waterfall,
} from './data.ts';
import { EvaluationCache, evaluateModel } from './model-eval.ts';

/** Event kinds the dashboard reads. */
export const EVENT_KINDS = { risk: RISK_EVENT, canary: ['canary', 'canary_decision'], job: 'job' } as const;

function modelSummary(m: Manifest | undefined) {
  if (!m) return null;
  return {
    id: m.id,
    kind: m.kind,
    status: m.status,
    created_at: m.created_at,
    threshold: m.threshold,
    metrics: m.metrics,
    data_range: m.data_range,
  };
}

export interface PagesDeps {
  store: Store;
  modelsDir: string;
  /** IANA zone for features and weeks (RISKGATE_TIMEZONE). */
  timezone: string;
  /** The job schedule the scheduler runs (the Jobs page shows it). */
  cron: SchedulerConfig['cron'];
}

export class DashboardPages {
  private readonly registry: Registry;
  private readonly evaluations = new EvaluationCache();

  constructor(private readonly d: PagesDeps) {
    this.registry = new Registry(d.modelsDir);
  }

  private models(): { champion: Manifest | undefined; challenger: Manifest | undefined; all: Manifest[] } {
    const all = this.registry.list();
    const id = this.registry.championId();
    const champ = id ? all.find((m) => m.id === id) : undefined;
    const challenger = [...all].reverse().find((m) => m.status === 'challenger' && m.id !== id);
    return { champion: champ, challenger, all };
  }

  overview(limit: number) {
    const { store } = this.d;
    const rows = store
      .listEvents(EVENT_KINDS.risk, { limit })
      .map(riskRow)
      .filter((r): r is NonNullable<typeof r> => r !== null);
    const { weekly, outcomes } = summariseRuns(store.iterateRuns(), rows);
    const { champion, challenger } = this.models();
    return {
      repos: store.repos(),
      runs: store.countRuns(),
      risk_checks: joinOutcomes(rows, outcomes),
      failure_rate: weekly,
      champion: modelSummary(champion),
      challenger: modelSummary(challenger),
    };
  }

  async model() {
    const { champion, challenger, all } = this.models();
    const backtestRaw = this.d.store.getState('backtest:last');
    let backtest: unknown = null;
    if (backtestRaw) {
      try {
        backtest = JSON.parse(backtestRaw);
      } catch {
        backtest = null; // a damaged state entry must not take the model page down
      }
    }
    if (!champion) {
      return {
        champion: null,
        challenger: modelSummary(challenger),
        models: all.map(modelSummary),
        evaluation: null,
        evaluation_error: null,
        backtest,
      };
    }
    let evaluation = null;
    let evaluationError: string | null = null;
    try {
      evaluation = await this.evaluations.get(champion.id, () =>
        evaluateModel(this.d.store, this.registry, champion, this.d.timezone),
      );
    } catch (e) {
      evaluationError = (e as Error).message;
    }
    return {
      champion: { ...modelSummary(champion), decision: champion.decision ?? null, features: champion.features.length },
      challenger: modelSummary(challenger),
      models: all.map(modelSummary).reverse(),
      evaluation,
      evaluation_error: evaluationError,
      backtest,
    };
  }

  risk(id: string) {
    const { store } = this.d;
    const ev = store.listEvents(EVENT_KINDS.risk, { limit: 5000 }).find((e) => riskEventId(e) === id);
    const row = ev && riskRow(ev);
    if (!ev || !row) throw new Refusal('not_found', 'not_found', `no risk check ${id} among the last 5000`);
    const { outcomes } = summariseRuns(store.iterateRuns({ repo: row.repo }), [row]);
    const [joined] = joinOutcomes([row], outcomes);
    return {
      ...joined,
      factors: Array.isArray(ev.payload.factors) ? ev.payload.factors : [],
      waterfall: waterfall(ev.payload),
    };
  }

  /** `who`: a score key sees only the rollouts it may see (its bound services, else those it owns); report sees all. */
  canary(who: Tenant | undefined, q: { service?: string; limit: number }) {
    const { store } = this.d;
    const events = EVENT_KINDS.canary
      .flatMap((kind) => store.listEvents(kind, { key: q.service, limit: q.limit }))
      .filter(
        (e) => !who || maySeeRollout(who, e.key, typeof e.payload.owner === 'string' ? e.payload.owner : undefined),
      );
    // `riskgate simulate-canary --url` rollouts are left out unless asked for by name.
    const all = canaryDecisions(events);
    const decisions = q.service ? all : all.filter((d) => !d.service.startsWith(SIMULATED_SERVICE_PREFIX));
    const services = [...new Set(decisions.map((d) => d.service))].sort();
    // Final outcomes posted to /v1/canary/outcome (promoted, rolled back, incident later), per service and version.
    const outcomes = store
      .listEvents('canary_outcome', { key: q.service, limit: q.limit })
      .filter((e) => services.includes(e.key))
      .map((e) => ({
        service: e.key,
        version: typeof e.payload.version === 'string' ? e.payload.version : null,
        outcome: typeof e.payload.outcome === 'string' ? e.payload.outcome : null,
        at: e.at,
      }));
    return {
      services,
      decisions: decisions.slice(-q.limit),
      hidden_simulated: all.length - decisions.length,
      outcomes,
    };
  }

  jobs(limit: number) {
    const runs = jobRuns(this.d.store.listEvents(EVENT_KINDS.job, { limit }));
    return { schedule: schedule(this.d.cron), summary: jobSummary(runs), runs };
  }

  reports(q: { repo?: string; weeks: number }) {
    const { store } = this.d;
    const repos = store.repos();
    const repo = q.repo ?? repos[0];
    if (q.repo && !repos.includes(q.repo)) {
      throw new Refusal('not_found', 'not_found', `no runs stored for repo "${q.repo}"`, [
        { path: 'query.repo', message: 'unknown repo' },
      ]);
    }
    // The window is the newest N weeks of the repo's runs: history far older (a sample from 2025 and one
    // outcome posted today) leaves it nearly empty, so the page says what is stored and where.
    const stored = { runs: 0, first_run_at: null as string | null, last_run_at: null as string | null };
    const tracked = function* (runs: Iterable<RunRecord>) {
      for (const r of runs) {
        stored.runs++;
        if (stored.first_run_at === null || r.created_at < stored.first_run_at) stored.first_run_at = r.created_at;
        if (stored.last_run_at === null || r.created_at > stored.last_run_at) stored.last_run_at = r.created_at;
        yield r;
      }
    };
    const dora = repo
      ? computeDora(tracked(store.iterateRuns({ repo })), { weeks: q.weeks, timezone: this.d.timezone })
      : null;
    return { repos, repo: repo ?? null, dora, stored };
  }
}
