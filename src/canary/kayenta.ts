/**
 * Kayenta remote judge: `POST /judge` with `{canaryConfig, scoreThresholds, metricSetPairList}` answered
 * with a `CanaryJudgeResult`. Kayenta calls a judge once per interval with fresh data and keeps no state
 * with us, so each call is a single look (the sequential guarantee still holds per call).
 *
 * Per metric the classification is ours (judge.ts); everything after it is Kayenta's, ported from
 * spinnaker/kayenta a69573b (kayenta-judge/.../scorers/ScoringHelper.scala, WeightedSumScorer.scala,
 * classifiers/score/ThresholdScoreClassifier.scala, classifiers/metric/MannWhitneyClassifier.scala for
 * which results are `critical`), so a score means what Kayenta's operators read it to mean:
 *  - muted metrics are classified and reported but left out of the score;
 *  - a group scores Pass / (Pass + High + Low + NodataFailMetric) × 100; `Nodata` and `Error` are not
 *    counted, and a group with nothing counted scores 100 in the summary;
 *  - `groupWeights` are percentages; groups without a weight share what is left of 100 equally;
 *  - a critical metric that is not Pass, or `Nodata` on half the metrics or more, makes the score 0;
 *  - the score is rounded half-up to 2 decimals and classified Pass ≥ pass, Marginal ≥ marginal, else
 *    Fail — and Kayenta's MonitorCanaryTask fails the run when `score <= marginal`.
 * Our `Inconclusive` (evidence not yet conclusive) is reported as `NodataFailMetric`, Kayenta's label for
 * a metric that must have data and has not enough: it counts as not passing, because thin evidence is
 * never a pass. Our `NoData` (too few samples) is Kayenta's `Nodata` (`NodataFailMetric` with
 * `mustHaveData`).
 */
import {
  DEFAULT_JUDGE,
  judge,
  type Direction,
  type JudgeConfig,
  type MetricInput,
  type MetricResult,
} from './judge.ts';
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

/**
 * Kayenta's NaN strategy (NetflixACAJudge.handleNaNs): `remove` drops NaN, `replace` makes it 0. Infinite
 * points (Jackson writes them as "Infinity"/"-Infinity") are dropped under either strategy and counted,
 * because our effect sizes need finite values; the result's reason says how many were dropped.
 */
function clean(
  xs: readonly (number | string | null)[],
  strategy: 'remove' | 'replace',
): { values: number[]; infinite: number } {
  const values: number[] = [];
  let infinite = 0;
  for (const x of xs) {
    const v = typeof x === 'number' ? x : x === null ? NaN : Number(x);
    if (Number.isFinite(v)) values.push(v);
    else if (Number.isNaN(v)) {
      if (strategy === 'replace') values.push(0);
    } else infinite++;
  }
  return { values, infinite };
}

export type KayentaClassification = 'Pass' | 'High' | 'Low' | 'Nodata' | 'NodataFailMetric' | 'Error';

function kayentaClass(m: MetricResult, mustHaveData: boolean): KayentaClassification {
  switch (m.classification) {
    case 'Pass':
    case 'High':
    case 'Low':
      return m.classification;
    case 'Inconclusive':
      return 'NodataFailMetric';
    case 'NoData':
      return mustHaveData && !m.critical ? 'NodataFailMetric' : 'Nodata';
  }
}

/** Apache commons-math Precision.round(x, 2) (ROUND_HALF_UP on the shortest decimal form of x), for x ≥ 0 as scores are. */
export function roundHalfUp2(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x < 0) return -roundHalfUp2(-x);
  // `1.005e2` is 100.5 exactly, so rounding the decimal form shifted by 2 is half-up on the decimal digits.
  const [mant, exp = '0'] = String(x).split('e');
  return Number(`${Math.round(Number(`${mant}e${Number(exp) + 2}`))}e-2`);
}

const NODATA_THRESHOLD = 50;

interface ScoredResult {
  classification: KayentaClassification;
  classificationReason: string;
  groups: string[];
  critical: boolean;
  muted: boolean;
}

/**
 * WeightedSumScorer.score and ScoringHelper.score: group scores and the summary score of the results,
 * muted ones left out. `groupWeights` is a Map so a group named `toString` or `__proto__` is just a name.
 */
export function kayentaScore(
  results: readonly ScoredResult[],
  groupWeights: ReadonlyMap<string, number>,
  thresholds: { pass: number; marginal: number },
): {
  groupScores: { name: string; score: number; noData: boolean; labels: Map<string, number> }[];
  score: number;
  classification: 'Pass' | 'Marginal' | 'Fail';
  reason: string | null;
} {
  const scored = results.filter((r) => !r.muted);
  const byGroup = new Map<string, KayentaClassification[]>();
  for (const r of scored) {
    for (const g of r.groups) {
      let labels = byGroup.get(g);
      if (!labels) byGroup.set(g, (labels = []));
      labels.push(r.classification);
    }
  }
  const groupScores = [...byGroup].map(([name, labels]) => {
    const counts = new Map<string, number>();
    for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const n = (l: string) => counts.get(l) ?? 0;
    const total = n('High') + n('Low') + n('Pass') + n('NodataFailMetric');
    const noData = total === 0;
    return { name, score: noData ? 0 : (n('Pass') / total) * 100, noData, labels: counts };
  });

  let score: number;
  let reason: string | null = null;
  const critical = scored.filter((r) => r.critical && r.classification !== 'Pass');
  const nodataShare = (scored.filter((r) => r.classification === 'Nodata').length / scored.length) * 100;
  if (critical.length) {
    score = 0;
    reason = `Canary Failed: ${critical[0].classificationReason}`;
  } else if (nodataShare >= NODATA_THRESHOLD) {
    score = 0;
    reason = `Canary Failed: ${NODATA_THRESHOLD}% or more metrics returned NODATA`;
  } else {
    let weightSum = 0;
    for (const w of groupWeights.values()) weightSum += w;
    const unweighted = groupScores.filter((g) => !groupWeights.has(g.name)).length;
    const shared = unweighted > 0 ? (100 - weightSum) / unweighted : 0;
    let sum = 0;
    for (const g of groupScores) sum += (g.noData ? 100 : g.score) * ((groupWeights.get(g.name) ?? shared) / 100);
    score = roundHalfUp2(sum);
  }
  const classification = score >= thresholds.pass ? 'Pass' : score >= thresholds.marginal ? 'Marginal' : 'Fail';
  return { groupScores, score, classification, reason };
}

export function kayentaJudge(req: KayentaJudgeRequest, cfg: JudgeConfig = DEFAULT_JUDGE) {
  const configs = new Map(req.canaryConfig.metrics.map((m) => [m.name, m]));
  const inputs: MetricInput[] = [];
  const meta: {
    id?: string;
    tags: Map<string, string>;
    groups: string[];
    control: number[];
    experiment: number[];
    infinite: number;
    muted: boolean;
    mustHaveData: boolean;
  }[] = [];
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
      direction === 'increase'
        ? inc !== undefined
          ? inc - 1
          : undefined
        : direction === 'decrease'
          ? dec !== undefined
            ? 1 - dec
            : undefined
          : inc !== undefined || dec !== undefined
            ? Math.min(inc !== undefined ? inc - 1 : Infinity, dec !== undefined ? 1 - dec : Infinity)
            : undefined;
    inputs.push({
      name: pair.name,
      direction,
      critical: c.critical ?? false,
      baseline: control.values,
      canary: experiment.values,
      max_change: maxChange !== undefined && maxChange >= 0 ? maxChange : undefined,
    });
    meta.push({
      id: pair.id,
      tags: pair.tags ?? new Map(),
      groups: mc?.groups ?? [],
      control: control.values,
      experiment: experiment.values,
      infinite: control.infinite + experiment.infinite,
      muted: c.muted ?? false,
      mustHaveData: c.mustHaveData ?? false,
    });
  }
  const jcfg = { ...cfg, passScore: req.scoreThresholds.pass, marginalScore: req.scoreThresholds.marginal };
  const j = judge(inputs, {}, jcfg);

  const results = j.metrics.map((m, i) => {
    const classification = kayentaClass(m, meta[i].mustHaveData);
    const dropped = meta[i].infinite ? ` (${meta[i].infinite} infinite values dropped)` : '';
    const cm = stats(meta[i].control);
    const em = stats(meta[i].experiment);
    return {
      name: m.name,
      ...(meta[i].id !== undefined ? { id: meta[i].id } : {}),
      tags: Object.fromEntries(meta[i].tags),
      classification,
      classificationReason: (m.classification === 'Inconclusive' ? `inconclusive: ${m.reason}` : m.reason) + dropped,
      groups: meta[i].groups,
      experimentMetadata: { stats: em },
      controlMetadata: { stats: cm },
      resultMetadata: {
        // Kayenta's own judge reports the mean ratio experiment / control as `ratio`.
        ratio: em.mean !== null && cm.mean !== null && cm.mean !== 0 ? em.mean / cm.mean : null,
        hodgesLehmann: m.effect.shift,
        confidenceInterval: { lower: m.effect.lower, upper: m.effect.upper },
        relativeChange: m.effect.relative,
        pValue: m.p_fixed,
        alwaysValidPValue: m.p_value,
        riskgateClassification: m.classification,
      },
      // As in Kayenta's MannWhitneyClassifier: `critical` marks a critical metric that did not pass.
      critical: m.critical && classification !== 'Pass',
      muted: meta[i].muted,
    };
  });

  const weights = req.canaryConfig.classifier?.groupWeights ?? new Map<string, number>();
  const s = kayentaScore(results, weights, req.scoreThresholds);
  const groupScores = s.groupScores.map((g) => {
    const n = (l: string) => g.labels.get(l) ?? 0;
    return {
      name: g.name,
      score: g.score,
      classification: g.noData
        ? 'Nodata'
        : n('High') + n('Low') > 0
          ? 'Fail'
          : n('Pass') === [...g.labels.values()].reduce((a, b) => a + b, 0)
            ? 'Pass'
            : 'Marginal',
      classificationReason: `${n('Pass')} pass, ${n('High') + n('Low')} regress, ${n('NodataFailMetric')} inconclusive or missing required data, ${n('Nodata')} no data`,
    };
  });
  // The reason speaks of the scored metrics only: our judge's own reasons would also name muted ones.
  const scored = results.filter((r) => !r.muted);
  const muted = results.filter((r) => r.muted).map((r) => r.name);
  const summary = `${scored.filter((r) => r.classification === 'Pass').length} of ${scored.length} scored metrics pass`;
  const regress = scored
    .filter((r) => r.classification === 'High' || r.classification === 'Low')
    .map((r) => `${r.name}: ${r.classificationReason}`);
  const reason =
    s.reason ??
    (results.length
      ? [summary, ...regress, ...(muted.length ? [`muted, not scored: ${muted.join(', ')}`] : [])].join('; ')
      : 'no metrics in metricSetPairList');
  const noGroups =
    results.some((r) => !r.muted) && !groupScores.length
      ? '; no metric belongs to a group (Kayenta scores groups only)'
      : '';
  return {
    judgeName: JUDGE_NAME,
    results,
    groupScores,
    score: { score: s.score, classification: s.classification, classificationReason: reason + noGroups },
  };
}
