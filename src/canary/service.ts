/**
 * The decision flow around the pure controller: resolve the risk, fetch metrics, load the rollout's
 * accumulated evidence, decide, and store state plus an audit event in one transaction. Shared by the
 * native endpoint and the Argo / Flagger adapters so every path counts looks the same way.
 */
import { RunRecordSchema } from '../records/schema.ts';
import { createEventLog, type EventLog } from '../store/event-log.ts';
import type { Store } from '../store/types.ts';
import { decide, EMPTY_STATE, type RolloutState } from './controller.ts';
import { DEFAULT_JUDGE, observe } from './judge.ts';
import { checkQueries, fetchMetrics } from './prometheus.ts';
import type { PrometheusQueries } from '../config.ts';
import { assertMayWriteRepo, assertMayWriteRollout, forbidden, mayWriteRepo, type Tenant } from '../tenancy.ts';
import { Refusal } from '../errors.ts';
import { MAX_SAMPLES_PER_REQUEST, tooManySamples } from './limits.ts';
import { kayentaJudge } from './kayenta.ts';
import type {
  CanaryDecisionRequest,
  CanaryDecisionResponse,
  CanaryOutcomeRequest,
  KayentaJudgeRequest,
} from './schemas.ts';

export interface CanaryServiceDeps {
  store: Store;
  riskLookup?: (repo: string, headSha: string) => Promise<number | undefined>;
  defaultRisk?: number;
  prometheusUrl?: string;
  /** Limits and templates for Prometheus queries (config `prometheusQueries`); defaults as in config.ts. */
  prometheusQueries?: PrometheusQueries;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  now?: () => number;
  /**
   * Where each decision's raw samples go (default: written on the next turn of the event loop). The
   * decision and the rollout state are stored before answering; the samples (~70 KB for 10 metrics × 300)
   * follow right behind, so they do not add their write to the decision's latency.
   */
  inputsLog?: EventLog;
  /** Called after each decision is stored (e.g. to alert on a rollback); never delays or fails the answer. */
  onDecision?: (d: { deployment: CanaryDecisionRequest['deployment']; response: CanaryDecisionResponse }) => void;
}

/** The defaults of RISKGATE_PROMETHEUS_* (config.ts), for services built without a config. */
export const DEFAULT_PROMETHEUS_QUERIES: PrometheusQueries = {
  maxQueryMetrics: 20,
  maxWindowS: 3600,
  scrapeIntervalS: null,
  templates: null,
};

export const DECISION_EVENT = 'canary_decision';
/** The raw samples behind each decision, apart from its summary: listing rollouts must not parse them all. */
export const INPUTS_EVENT = 'canary_inputs';
export const OUTCOME_EVENT = 'canary_outcome';

/**
 * Raw samples are stored exactly, as little-endian float64 in the event's binary column: each metric's
 * baseline then its canary, in the order the payload lists them with their counts. Printing 6,000 doubles
 * as JSON text cost more than the whole judge; base64 inside the JSON took twice as long to write.
 */
export const SAMPLES_ENCODING = 'float64le';

interface SampleSet {
  name: string;
  baseline: readonly number[];
  canary: readonly number[];
}

export function encodeSamples(metrics: readonly SampleSet[]): {
  metrics: { name: string; baseline_n: number; canary_n: number }[];
  data: Uint8Array;
} {
  let total = 0;
  for (const m of metrics) total += m.baseline.length + m.canary.length;
  const data = new Uint8Array(total * 8);
  const view = new DataView(data.buffer);
  let o = 0;
  for (const m of metrics) {
    for (const xs of [m.baseline, m.canary])
      for (let i = 0; i < xs.length; i++, o += 8) view.setFloat64(o, xs[i], true);
  }
  return {
    metrics: metrics.map((m) => ({ name: m.name, baseline_n: m.baseline.length, canary_n: m.canary.length })),
    data,
  };
}

/** The samples of a stored inputs event; throws when the counts and the bytes disagree. */
export function decodeSamples(
  payload: Record<string, unknown>,
  data: Uint8Array | undefined,
): { name: string; baseline: number[]; canary: number[] }[] {
  const metrics = payload.metrics as { name: string; baseline_n: number; canary_n: number }[];
  const bytes = data ?? new Uint8Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = metrics.reduce((a, m) => a + m.baseline_n + m.canary_n, 0) * 8;
  if (payload.encoding !== SAMPLES_ENCODING || need !== bytes.byteLength) {
    throw new Error(
      `canary inputs: expected ${need} bytes of ${SAMPLES_ENCODING}, found ${bytes.byteLength} of ${String(payload.encoding)}`,
    );
  }
  let o = 0;
  const read = (n: number): number[] => Array.from({ length: n }, () => ((o += 8), view.getFloat64(o - 8, true)));
  return metrics.map((m) => ({ name: m.name, baseline: read(m.baseline_n), canary: read(m.canary_n) }));
}

/** Where decisions' raw samples are logged: on the next turn of the event loop, a few decisions a batch. */
export function createInputsLog(store: Store, log?: { warn(o: object, m?: string): void }): EventLog {
  return createEventLog(store, INPUTS_EVENT, { intervalMs: 0, maxBatch: 20, log });
}

export interface StoredRollout {
  state: RolloutState;
  /** Epoch ms of the last decision and of the last weight change. */
  decided_at: number;
  changed_at: number;
  /** Native decisions: the next weight answered. Flagger: the weight Flagger is at, as Riskgate infers it. */
  weight: number;
  started_at: number;
  /** The API key that wrote the rollout's first decision (tenancy: only it, or an admin, writes more). */
  owner?: string;
  /** Flagger: the evidence before this interval's look and when that look was taken (see DecideOptions.flagger). */
  before?: RolloutState;
  look_at?: number;
}

export const stateKey = (service: string, version: string): string => `canary:${service}@${version}`;
/**
 * Flagger's evidence lives under its own prefix: the native and Argo routes write only `canary:` keys, so
 * no decision posted there (by any key) can become evidence a Flagger gate reads (issue 16.2).
 */
export const flaggerStateKey = (service: string, version: string): string => `canary-flagger:${service}@${version}`;

export interface DecideOptions {
  currentWeight?: number;
  /** Who writes: checked against the rollout's owner and the key's bindings (src/tenancy.ts). */
  writer?: Tenant;
  /**
   * Flagger hooks. Flagger calls several hooks per analysis interval (rollback, rollout, confirm-…), each of
   * which judges the metrics it is given afresh; they count as one look: a hook within `sameLookWithinMs`
   * of the interval's first look replaces that look (its evidence is the state before it plus this
   * observation) instead of adding another over the same window. A Flagger answer never finishes the
   * rollout's evidence (Flagger, not the answer, decides when it ends: post-rollout closes it).
   * `settle` returns the weight Flagger will be at after this answer (a confirmed traffic increase).
   */
  flagger?: {
    sameLookWithinMs: number;
    settle?: (d: CanaryDecisionResponse, prev: StoredRollout | undefined) => number | undefined;
  };
}

export class CanaryService {
  readonly inputs: EventLog;
  constructor(readonly deps: CanaryServiceDeps) {
    this.inputs = deps.inputsLog ?? createInputsLog(deps.store, deps.log);
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  loadRollout(service: string, version: string, flagger = false): StoredRollout | undefined {
    const key = flagger ? flaggerStateKey(service, version) : stateKey(service, version);
    const raw = this.deps.store.getState(key);
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as StoredRollout;
      return v && typeof v === 'object' && v.state && Array.isArray(v.state.weights) ? v : undefined;
    } catch {
      // A damaged state entry must not wedge the rollout: start the evidence afresh (and say so in the log).
      this.deps.log?.warn({ service, version }, 'canary state unreadable; starting fresh');
      return undefined;
    }
  }

  /** Flagger's post-rollout: the rollout is over; its evidence is dropped, its owner kept. */
  closeFlaggerRollout(service: string, version: string): void {
    const prev = this.loadRollout(service, version, true);
    if (!prev) return;
    const closed: StoredRollout = { ...prev, state: EMPTY_STATE, before: undefined, look_at: undefined };
    this.deps.store.setState(flaggerStateKey(service, version), JSON.stringify(closed));
  }

  async resolveRisk(req: {
    risk?: number;
    deployment: { repo?: string; head_sha?: string };
  }): Promise<{ risk: number; source: 'request' | 'model' | 'prior' }> {
    if (req.risk !== undefined) return { risk: req.risk, source: 'request' };
    const { repo, head_sha } = req.deployment;
    if (repo && head_sha && this.deps.riskLookup) {
      try {
        const r = await this.deps.riskLookup(repo, head_sha);
        if (r !== undefined && Number.isFinite(r)) return { risk: Math.min(1, Math.max(0, r)), source: 'model' };
      } catch (err) {
        this.deps.log?.warn(
          { err: err instanceof Error ? err.message : String(err), repo, head_sha },
          'risk lookup failed; using the prior',
        );
      }
    }
    return { risk: this.deps.defaultRisk ?? 0.2, source: 'prior' };
  }

  /** One look at the rollout (see DecideOptions for the Flagger variant). */
  async decide(req: CanaryDecisionRequest, opts: DecideOptions = {}): Promise<CanaryDecisionResponse> {
    const { service, version } = req.deployment;
    const flagger = opts.flagger;
    const key = flagger ? flaggerStateKey(service, version) : stateKey(service, version);
    // Refused writers are refused before any Prometheus query is made on their behalf.
    if (opts.writer)
      assertMayWriteRollout(opts.writer, service, version, this.loadRollout(service, version, !!flagger)?.owner);
    // Refused before any upstream call: every route (native, Argo, Flagger) comes through here.
    const limits = this.deps.prometheusQueries ?? DEFAULT_PROMETHEUS_QUERIES;
    const problems = checkQueries(req, limits);
    if (problems.length) throw new Refusal('invalid', 'invalid_request', 'request failed validation', problems);
    const { risk, source } = await this.resolveRisk(req);
    const window = { window_s: req.prometheus?.window_s ?? 60, step_s: req.prometheus?.step_s };
    const { metrics, errors, notes } = await fetchMetrics(
      this.deps.prometheusUrl,
      req.metrics,
      window,
      this.now() / 1000,
      limits,
    );
    // Queried samples are not in the request the schema checked; the same per-request bound applies to them.
    let fetched = 0;
    for (const m of metrics) fetched += m.baseline.length + m.canary.length;
    if (fetched > MAX_SAMPLES_PER_REQUEST)
      errors.push(`${tooManySamples(fetched)}: shorten prometheus.window_s or raise step_s`);

    // The samples' part of the judgement depends on nothing stored, so it is done before the write lock is taken.
    const minSamples = DEFAULT_JUDGE.minSamples;
    const observations = errors.length
      ? undefined
      : metrics.map((m) => observe(m.canary, m.baseline, m.direction, minSamples));

    // From here on everything is synchronous, so concurrent calls for one rollout cannot interleave.
    const store = this.deps.store;
    const answer = store.transaction(() => {
      const prev = this.loadRollout(service, version, !!flagger);
      // Checked again under the write lock: another key may have written the first decision meanwhile.
      if (opts.writer) assertMayWriteRollout(opts.writer, service, version, prev?.owner);
      const now = this.now();
      const current = opts.currentWeight ?? req.current_weight;
      const sameLook =
        !!flagger && !!prev?.before && prev.look_at !== undefined && now - prev.look_at < flagger.sameLookWithinMs;
      const base = sameLook ? prev!.before! : (prev?.state ?? EMPTY_STATE);
      const out = decide(
        { current_weight: current, elapsed_s: req.elapsed_s, risk, metrics, policy: req.policy, source_errors: errors },
        base,
        DEFAULT_JUDGE,
        observations,
      );
      const response: CanaryDecisionResponse = {
        ...out.decision,
        reasons: notes.length ? [...out.decision.reasons, ...notes] : out.decision.reasons,
        risk_source: source,
        look: errors.length ? (prev?.state.looks ?? 0) : out.state.looks,
      };
      const finished = !flagger && (response.action === 'rollback' || response.action === 'promote');
      const weight = flagger ? (flagger.settle?.(response, prev) ?? prev?.weight ?? current) : response.next_weight;
      const looked = !errors.length;
      const stored: StoredRollout = {
        // A finished rollout's evidence is spent; if the same version is rolled out again it starts afresh.
        state: finished ? EMPTY_STATE : looked ? out.state : (prev?.state ?? EMPTY_STATE),
        decided_at: now,
        changed_at: (flagger ? weight !== (prev?.weight ?? current) : response.next_weight !== current)
          ? now
          : (prev?.changed_at ?? now),
        weight,
        started_at: prev?.started_at ?? now,
        owner: prev?.owner ?? opts.writer?.name,
        ...(flagger
          ? looked
            ? {
                before: sameLook ? prev!.before : (prev?.state ?? EMPTY_STATE),
                look_at: sameLook ? prev!.look_at : now,
              }
            : { before: prev?.before, look_at: prev?.look_at }
          : {}),
      };
      store.setState(key, JSON.stringify(stored));
      const decidedAt = new Date(now).toISOString();
      store.appendEvent(DECISION_EVENT, service, {
        version,
        decided_at: decidedAt,
        deployment: req.deployment,
        owner: stored.owner ?? null,
        ...(flagger ? { source: 'flagger', flagger_weight: weight } : {}),
        request: {
          ...req,
          metrics: metrics.map((m, i) => {
            const { baseline: _b, canary: _c, ...rest } = req.metrics[i];
            // Template params are a Map (caller-named keys); the log keeps them as an object.
            const query = rest.query?.params
              ? { ...rest.query, params: Object.fromEntries(rest.query.params) }
              : rest.query;
            return { ...rest, query, baseline_n: m.baseline.length, canary_n: m.canary.length };
          }),
        },
        started_at: new Date(stored.started_at).toISOString(),
        finished,
        response,
      });
      const samples = encodeSamples(metrics);
      this.inputs.record(
        service,
        { version, decided_at: decidedAt, encoding: SAMPLES_ENCODING, metrics: samples.metrics },
        samples.data,
      );
      this.deps.log?.info(
        { service, version, action: response.action, next_weight: response.next_weight, score: response.score, risk },
        'canary decision',
      );
      return response;
    });
    if (this.deps.onDecision) {
      const hook = this.deps.onDecision;
      setImmediate(() => {
        try {
          hook({ deployment: req.deployment, response: answer });
        } catch (err) {
          this.deps.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'decision hook failed');
        }
      });
    }
    return answer;
  }

  /** A Kayenta judge call, scored as Kayenta scores it and recorded as sent (`raw`: the parsed one holds Maps). */
  judgeKayenta(req: KayentaJudgeRequest, raw: Record<string, unknown>): ReturnType<typeof kayentaJudge> {
    const result = kayentaJudge(req);
    this.deps.store.appendEvent('canary_kayenta_judge', req.canaryConfig.name ?? 'kayenta', {
      request: raw,
      score: result.score,
    });
    return result;
  }

  /**
   * Final outcome of a rollout → an audit event and a canonical run record (training data for the risk prior).
   * A run record is history, so writing it needs what `/v1/outcomes` needs (the `report` scope) and, for a
   * repo-bound key, that repo (issue 16.3: 60 score-key posts moved a repo's risk from 0.198 to 0.474). A
   * `repo` sent without that right is refused; one only inferred from the rollout's decisions is left out of
   * training, with the reason. The outcome itself is written by whoever may write the rollout.
   */
  recordOutcome(
    req: CanaryOutcomeRequest,
    writer?: Tenant,
    opts: { flagger?: boolean } = {},
  ): { recorded: true; training_record: boolean; run_id: string; reason?: string } {
    const store = this.deps.store;
    const owner = this.loadRollout(req.service, req.version, !!opts.flagger)?.owner;
    if (writer) {
      assertMayWriteRollout(writer, req.service, req.version, owner);
      if (req.repo !== undefined) {
        if (!writer.scopes.includes('report'))
          throw forbidden(`API key "${writer.name}" lacks the "report" scope that writing run history (repo) needs`);
        assertMayWriteRepo(writer, req.repo);
      }
    }
    // Only the decisions of this rollout's own writer (and path: native or Flagger) say which repo and commit
    // it was: another key's posts for the same service@version must not choose whose history it becomes.
    const decisions = store
      .listEvents(DECISION_EVENT, { key: req.service, limit: 1000 })
      .filter(
        (e) =>
          e.payload.version === req.version &&
          (e.payload.source === 'flagger') === !!opts.flagger &&
          (owner === undefined || e.payload.owner === owner),
      );
    const dep = (decisions[0]?.payload.deployment ?? {}) as { repo?: string; head_sha?: string };
    const repo = req.repo ?? dep.repo;
    const mayTrain = !writer || !repo || (writer.scopes.includes('report') && mayWriteRepo(writer, repo));
    const headSha = req.head_sha ?? dep.head_sha ?? null;
    const first = decisions.length ? decisions[decisions.length - 1] : undefined;
    const startedAt =
      (first?.payload.started_at as string | undefined) ?? first?.at ?? new Date(this.now()).toISOString();
    const runId = `canary:${req.service}:${req.version}`;
    return store.transaction(() => {
      store.appendEvent(OUTCOME_EVENT, req.service, {
        ...req,
        repo: repo ?? null,
        head_sha: headSha,
        decisions: decisions.length,
        by: writer?.name ?? null,
      });
      if (!repo)
        return {
          recorded: true as const,
          training_record: false,
          run_id: runId,
          reason: 'no repo known for this rollout; send `repo` to make it training data',
        };
      if (!mayTrain)
        return {
          recorded: true as const,
          training_record: false,
          run_id: runId,
          reason: `API key "${writer!.name}" may not write run history for ${repo} (needs the report scope and the repo)`,
        };
      const record = RunRecordSchema.parse({
        repo,
        run_id: runId,
        workflow: `canary:${req.service}`,
        created_at: startedAt,
        completed_at: new Date(this.now()).toISOString(),
        head_sha: headSha,
        event: 'canary',
        conclusion: req.outcome === 'promoted' ? 'success' : 'failure',
      });
      store.upsertRuns([record]);
      return { recorded: true as const, training_record: true, run_id: runId };
    });
  }

  /** Rollouts seen in the decision log, newest first, with their latest decision and outcome. */
  listRollouts(limit = 1000): Record<string, unknown>[] {
    const store = this.deps.store;
    const outcomes = new Map<string, unknown>();
    for (const e of store.listEvents(OUTCOME_EVENT, { limit })) {
      const k = `${e.key}@${e.payload.version}`;
      if (!outcomes.has(k)) outcomes.set(k, { outcome: e.payload.outcome, at: e.at });
    }
    const byRollout = new Map<string, Record<string, unknown>>();
    for (const e of store.listEvents(DECISION_EVENT, { limit })) {
      const k = `${e.key}@${e.payload.version}`;
      const r = e.payload.response as CanaryDecisionResponse;
      const row = byRollout.get(k);
      if (!row) {
        byRollout.set(k, {
          service: e.key,
          version: e.payload.version,
          last_at: e.at,
          action: r.action,
          weight: r.next_weight,
          score: r.score,
          verdict: r.verdict,
          decisions: 1,
          outcome: outcomes.get(k) ?? null,
        });
      } else row.decisions = (row.decisions as number) + 1;
    }
    return [...byRollout.values()];
  }

  history(service: string, limit = 200): Record<string, unknown>[] {
    return this.deps.store.listEvents(DECISION_EVENT, { key: service, limit }).map((e) => {
      const r = e.payload.response as CanaryDecisionResponse;
      const q = e.payload.request as CanaryDecisionRequest;
      return {
        at: e.at,
        version: e.payload.version,
        current_weight: q.current_weight,
        action: r.action,
        next_weight: r.next_weight,
        score: r.score,
        verdict: r.verdict,
        confidence: r.confidence,
        risk: r.risk,
        reasons: r.reasons,
        metrics: r.metrics.map((m) => ({
          name: m.name,
          classification: m.classification,
          p_value: m.p_value,
          effect: m.effect,
        })),
      };
    });
  }
}
