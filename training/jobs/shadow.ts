import { failureLabel } from '../../src/records/schema.ts';
import { brier, f1At, prAuc } from '../../src/ml/metrics.ts';
import type { Store } from '../../src/store/types.ts';
import { SHADOW_EVENT, TRIAL_STATE, type Arm, type ShadowObservation } from '../../src/serving/shadow.ts';
import { decide, type ComparedMetrics, type Decision, type Margins } from '../challenger.ts';

// What serving records while a challenger is on trial (the trial's state keys, the arm of each repo, the
// recorded pair of scores) lives in src/serving/shadow.ts; this is the evaluation of those records.
export interface ArmReport {
  requests: number;
  labelled: number;
  failure_rate: number | null;
  /** Metrics of the model that answered this arm's requests. */
  served: ComparedMetrics | null;
}

export interface ShadowReport {
  challenger: string | null;
  champion: string | null;
  requests: number;
  labelled: number;
  min_outcomes: number;
  /** Both models on the same labelled requests (paired). */
  champion_metrics: ComparedMetrics | null;
  challenger_metrics: ComparedMetrics | null;
  arms: Record<Arm, ArmReport>;
  decision: Decision | null;
  ready: boolean;
}

function metricsOf(y: number[], p: number[], threshold: number): ComparedMetrics | null {
  if (y.length === 0) return null;
  return { pr_auc: prAuc(y, p), f1: f1At(y, p, threshold).f1, brier: brier(y, p) };
}

/**
 * Joins the recorded shadow scores of `challenger` (default: the one on trial) with the outcomes now in the
 * store. A request counts once per (repo, head_sha): the first finished run of that commit is its outcome.
 */
export function shadowReport(
  store: Store,
  o: { challenger?: string | null; minOutcomes?: number; margins?: Partial<Margins>; limit?: number } = {},
): ShadowReport {
  const challenger = o.challenger === undefined ? (store.getState(TRIAL_STATE) ?? null) : o.challenger;
  const minOutcomes = o.minOutcomes ?? 200;
  const empty: ArmReport = { requests: 0, labelled: 0, failure_rate: null, served: null };
  const blank: ShadowReport = {
    challenger,
    champion: null,
    requests: 0,
    labelled: 0,
    min_outcomes: minOutcomes,
    champion_metrics: null,
    challenger_metrics: null,
    arms: { champion: { ...empty }, challenger: { ...empty } },
    decision: null,
    ready: false,
  };
  if (!challenger) return blank;
  const events = store.listEvents(SHADOW_EVENT, { key: challenger, limit: o.limit ?? 100_000 });
  if (events.length === 0) return blank;

  const byCommit = new Map<string, { at: string; obs: ShadowObservation }>();
  const since = new Map<string, string>();
  for (const e of events) {
    const obs = e.payload as unknown as ShadowObservation;
    if (!obs?.repo || !obs.head_sha) continue;
    const k = `${obs.repo}\u0000${obs.head_sha}`;
    const prev = byCommit.get(k);
    if (!prev || e.at < prev.at) byCommit.set(k, { at: e.at, obs });
    const s = since.get(obs.repo);
    if (!s || e.at < s) since.set(obs.repo, e.at);
  }
  // Outcomes: the first finished run of each commit created after we first scored it (minus clock slack).
  const outcome = new Map<string, 0 | 1>();
  for (const [repo, at] of since) {
    const from = new Date(Date.parse(at) - 10 * 60_000).toISOString();
    for (const r of store.iterateRuns({ repo, since: from })) {
      if (!r.head_sha) continue;
      const k = `${repo}\u0000${r.head_sha}`;
      if (outcome.has(k) || !byCommit.has(k)) continue;
      const label = failureLabel(r.conclusion);
      if (label !== null) outcome.set(k, label);
    }
  }
  const y: number[] = [];
  const pc: number[] = [];
  const px: number[] = [];
  const arm = {
    champion: { y: [] as number[], p: [] as number[], n: 0 },
    challenger: { y: [] as number[], p: [] as number[], n: 0 },
  };
  let champion: string | null = null;
  let thChampion = 0.5;
  let thChallenger = 0.5;
  for (const [k, { obs }] of byCommit) {
    champion = obs.champion.id;
    thChampion = obs.champion.threshold;
    thChallenger = obs.challenger.threshold;
    const a = arm[obs.arm === 'challenger' ? 'challenger' : 'champion'];
    a.n++;
    const label = outcome.get(k);
    if (label === undefined) continue;
    y.push(label);
    pc.push(obs.champion.p);
    px.push(obs.challenger.p);
    a.y.push(label);
    a.p.push(obs.arm === 'challenger' ? obs.challenger.p : obs.champion.p);
  }
  const armReport = (a: { y: number[]; p: number[]; n: number }, th: number): ArmReport => ({
    requests: a.n,
    labelled: a.y.length,
    failure_rate: a.y.length ? a.y.reduce((s, v) => s + v, 0) / a.y.length : null,
    served: metricsOf(a.y, a.p, th),
  });
  const championMetrics = metricsOf(y, pc, thChampion);
  const challengerMetrics = metricsOf(y, px, thChallenger);
  const ready = y.length >= minOutcomes && championMetrics !== null && challengerMetrics !== null;
  return {
    challenger,
    champion,
    requests: byCommit.size,
    labelled: y.length,
    min_outcomes: minOutcomes,
    champion_metrics: championMetrics,
    challenger_metrics: challengerMetrics,
    arms: { champion: armReport(arm.champion, thChampion), challenger: armReport(arm.challenger, thChallenger) },
    decision: ready ? decide({ champion: championMetrics, challenger: challengerMetrics!, margins: o.margins }) : null,
    ready,
  };
}
