/**
 * Kayenta remote judge: `POST /judge` with `{canaryConfig, scoreThresholds, metricSetPairList}` answered
 * with a `CanaryJudgeResult`. Kayenta calls a judge once per interval with fresh data and keeps no state
 * with us, so each call is a single look (the sequential guarantee still holds per call).
 *
 * Kayenta's classifications are Pass / High / Low / Nodata / Error. An inconclusive metric is reported as
 * Nodata (with the reason), but unlike Kayenta's own judge it is not dropped from the score: the score is
 * held inside the marginal band so Kayenta neither passes nor fails the interval on thin evidence.
 */
import { DEFAULT_JUDGE, judge, type Direction, type JudgeConfig, type MetricInput, type MetricResult } from './judge.ts';
import type { KayentaJudgeRequest } from './schemas.ts';

export const JUDGE_NAME = 'riskgate-sequential-v1';

type Stats = { count: number; mean: number | null; min: number | null; max: number | null };

function stats(xs: number[]): Stats {
  if (!xs.length) return { count: 0, mean: null, min: null, max: null };
  let s = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    s += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return { count: xs.length, mean: s / xs.length, min: lo, max: hi };
}

function clean(xs: (number | 'NaN' | null)[], strategy: 'remove' | 'replace'): number[] {
  const out: number[] = [];
  for (const x of xs) {
    if (typeof x === 'number' && Number.isFinite(x)) out.push(x);
    else if (strategy === 'replace') out.push(0);
  }
  return out;
}

const KAYENTA_CLASS: Record<MetricResult['classification'], 'Pass' | 'High' | 'Low' | 'Nodata'> = {
  Pass: 'Pass',
  High: 'High',
  Low: 'Low',
  Inconclusive: 'Nodata',
  NoData: 'Nodata',
};

export function kayentaJudge(req: KayentaJudgeRequest, cfg: JudgeConfig = DEFAULT_JUDGE) {
  const configs = new Map(req.canaryConfig.metrics.map((m) => [m.name, m]));
  const inputs: MetricInput[] = [];
  const meta: { id?: string; groups: string[]; control: number[]; experiment: number[] }[] = [];
  for (const pair of req.metricSetPairList) {
    const mc = configs.get(pair.name);
    const c = mc?.analysisConfigurations?.canary ?? {};
    const direction: Direction = c.direction ?? 'either';
    const strategy = c.nanStrategy ?? 'remove';
    const control = clean(pair.values.control, strategy);
    const experiment = clean(pair.values.experiment, strategy);
    const inc = c.effectSize?.allowedIncrease;
    const dec = c.effectSize?.allowedDecrease;
    // Kayenta's allowedIncrease 1.1 / allowedDecrease 0.9 are ratios; ours is a relative change.
    const maxChange =
      direction === 'increase' ? (inc !== undefined ? inc - 1 : undefined) : direction === 'decrease' ? (dec !== undefined ? 1 - dec : undefined) : inc !== undefined || dec !== undefined ? Math.min(inc !== undefined ? inc - 1 : Infinity, dec !== undefined ? 1 - dec : Infinity) : undefined;
    inputs.push({ name: pair.name, direction, critical: c.critical ?? false, baseline: control, canary: experiment, max_change: maxChange !== undefined && maxChange >= 0 ? maxChange : undefined });
    meta.push({ id: pair.id, groups: mc?.groups ?? [], control, experiment });
  }
  const jcfg = { ...cfg, passScore: req.scoreThresholds.pass, marginalScore: req.scoreThresholds.marginal };
  const j = judge(inputs, {}, jcfg);

  const results = j.metrics.map((m, i) => ({
    name: m.name,
    ...(meta[i].id !== undefined ? { id: meta[i].id } : {}),
    classification: KAYENTA_CLASS[m.classification],
    classificationReason: m.classification === 'Inconclusive' ? `inconclusive: ${m.reason}` : m.reason,
    groups: meta[i].groups,
    experimentMetadata: { stats: stats(meta[i].experiment) },
    controlMetadata: { stats: stats(meta[i].control) },
    resultMetadata: {
      hodgesLehmann: m.effect.shift,
      confidenceInterval: { lower: m.effect.lower, upper: m.effect.upper },
      relativeChange: m.effect.relative,
      pValue: m.p_fixed,
      alwaysValidPValue: m.p_value,
      riskgateClassification: m.classification,
    },
    critical: m.critical,
  }));

  // Group scores: share of the group's metrics that pass; inconclusive ones count as not passing.
  const groupNames = [...new Set(results.flatMap((r) => (r.groups.length ? r.groups : ['default'])))];
  const weights = req.canaryConfig.classifier?.groupWeights ?? {};
  const groupScores = groupNames.map((g) => {
    const members = j.metrics.filter((_, i) => (results[i].groups.length ? results[i].groups : ['default']).includes(g));
    const pass = members.filter((m) => m.classification === 'Pass').length;
    const failing = members.filter((m) => m.classification === 'High' || m.classification === 'Low').length;
    const score = members.length ? (100 * pass) / members.length : 0;
    return {
      name: g,
      score,
      classification: failing ? 'Fail' : pass === members.length ? 'Pass' : 'Nodata',
      classificationReason: `${pass}/${members.length} metrics pass, ${failing} regress`,
    };
  });
  const totalW = groupNames.reduce((s, g) => s + (weights[g] ?? 1), 0);
  let score = totalW > 0 ? groupScores.reduce((s, g) => s + g.score * (weights[g.name] ?? 1), 0) / totalW : 0;
  let classification: 'Pass' | 'Marginal' | 'Fail' | 'Nodata';
  let reason: string;
  const { pass, marginal } = req.scoreThresholds;
  if (j.verdict === 'fail') {
    classification = 'Fail';
    score = j.metrics.some((m) => m.critical && (m.classification === 'High' || m.classification === 'Low')) ? 0 : Math.min(score, Math.max(0, marginal - 1e-9));
    reason = j.reasons.join('; ');
  } else if (j.verdict === 'inconclusive') {
    // Not enough evidence either way: keep Kayenta between its thresholds so it waits for the next interval.
    score = Math.max(marginal, Math.min(score, pass - 1e-9));
    classification = 'Marginal';
    reason = `inconclusive, not enough data yet: ${j.reasons.join('; ')}`;
  } else {
    classification = score >= pass ? 'Pass' : score >= marginal ? 'Marginal' : 'Fail';
    reason = j.reasons.join('; ');
  }
  if (!results.length) {
    classification = 'Nodata';
    reason = 'no metrics in metricSetPairList';
  }
  return { judgeName: JUDGE_NAME, results, groupScores, score: { score, classification, classificationReason: reason } };
}
