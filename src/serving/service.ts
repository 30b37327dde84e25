import type { RunRecord } from '../records/schema.ts';
import { Refusal } from '../errors.ts';
import { StoreUnavailableError, type Store } from '../store/types.ts';
import { assertMayWriteRepo, type Tenant } from '../tenancy.ts';
import { isSaneScore, riskAnswer, type AnswerConfig } from './answer.ts';
import type { RiskLog } from './risk-log.ts';
import type { RiskMemory } from './risk-memory.ts';
import type { RiskRequest, RiskResponse } from './schemas.ts';
import type { Scorer, ScoreResult } from './types.ts';

type WarnLog = { warn(o: object, m?: string): void };

export interface AssessDeps {
  scorer: Scorer;
  /** Answers when the scorer fails unexpectedly (a broken model must not fail the pipeline). */
  fallback: Scorer;
  config: AnswerConfig;
  log?: WarnLog;
}

/** Scores (falling back to the rules when the model breaks) and answers: the server's and `check --local`'s path. */
export async function assessRisk(
  req: RiskRequest,
  deps: AssessDeps,
  requestId: string,
  log: WarnLog | undefined = deps.log,
): Promise<RiskResponse> {
  let result: ScoreResult;
  try {
    result = await deps.scorer.score(req);
    if (!isSaneScore(result)) throw new Error(`scorer returned probability ${result.probability}`);
  } catch (err) {
    // The store being down (503) and "not loaded yet" are answers in themselves, not a broken model.
    if (err instanceof StoreUnavailableError || err instanceof Refusal) throw err;
    log?.warn({ err }, 'scorer failed; answering with the rule-based fallback');
    result = await deps.fallback.score(req);
  }
  return riskAnswer(req, result, deps.config, requestId);
}

/** What serving counts in /metrics (serving/metrics.ts registers them). */
export interface ServingCounters {
  prediction(level: string): void;
  fallback(): void;
}

export interface RiskServiceDeps extends AssessDeps {
  store: Store;
  /** Where answered risk checks are logged for the dashboard. */
  riskLog: RiskLog;
  /** Remembers each answered risk by commit (the canary controller reads it). */
  memory?: RiskMemory;
  counters?: ServingCounters;
  /** The instant a check is logged at (epoch ms). */
  clock: () => number;
}

/** The pre-build risk check and the outcomes that close the loop, behind the HTTP router. */
export class RiskService {
  constructor(private readonly d: RiskServiceDeps) {}

  async check(req: RiskRequest, requestId: string, log?: WarnLog): Promise<RiskResponse> {
    const d = this.d;
    const out = await assessRisk(req, d, requestId, log ?? d.log);
    d.counters?.prediction(out.risk_level);
    d.memory?.remember(req.repo, req.head_sha, out.probability);
    d.riskLog.record(req.repo, {
      at: new Date(d.clock()).toISOString(),
      repo: req.repo,
      head_sha: req.head_sha ?? null,
      head_branch: req.head_branch ?? null,
      workflow: req.workflow ?? null,
      probability: out.probability,
      risk_level: out.risk_level,
      model: out.model,
      degraded: out.degraded,
      factors: out.factors,
      request_id: requestId,
    });
    if (out.degraded) d.counters?.fallback();
    return out;
  }

  /**
   * Finished runs: history features update at once and later models train on them. A repo-bound key writes
   * only its repos' history (training data); nothing is stored if one run is outside.
   */
  recordOutcomes(who: Tenant, runs: RunRecord[]): ReturnType<Store['upsertRuns']> {
    for (const r of runs) assertMayWriteRepo(who, r.repo);
    return this.d.store.upsertRuns(runs);
  }
}
