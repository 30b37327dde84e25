/**
 * Turns a calibrated failure probability into what the pipeline does about it. Pure: the same input always
 * gives the same policy, and a higher probability never gives a laxer one (see test/policy/policy.test.ts).
 */
import type {
  Mitigation,
  MitigationAction,
  Policy,
  PolicyConfig,
  RetryPolicy,
  RiskLevel,
  StrategyName,
  Thresholds,
} from './types.ts';
import { DEFAULT_HIGH_RISK_PERIODS, findWindow, localClock, parseWindows } from './windows.ts';

export type * from './types.ts';

export const DEFAULT_THRESHOLDS: Thresholds = { medium: 0.3, high: 0.7 };

export const DEFAULT_POLICY_CONFIG: PolicyConfig = {
  maintenanceWindows: [],
  highRiskPeriods: parseWindows(DEFAULT_HIGH_RISK_PERIODS),
  degradedHealth: 0.8,
  downHealth: 0.5,
  largeChangeFiles: 50,
  largeChangeChurn: 2000,
};

export function riskLevelFor(probability: number, t: Thresholds = DEFAULT_THRESHOLDS): RiskLevel {
  if (probability > t.high) return 'high';
  if (probability > t.medium) return 'medium';
  return 'low';
}

const RETRY: Record<RiskLevel, RetryPolicy> = {
  low: { max_attempts: 2, base_delay_ms: 1000, max_delay_ms: 10_000, jitter: 0.5 },
  medium: { max_attempts: 3, base_delay_ms: 2000, max_delay_ms: 30_000, jitter: 0.5 },
  high: { max_attempts: 4, base_delay_ms: 5000, max_delay_ms: 120_000, jitter: 0.5 },
};

/** What each strategy means for the build, as environment variables a workflow can branch on. */
export const STRATEGY_ENV: Record<StrategyName, Record<string, string>> = {
  conservative: {
    EXTRA_RETRIES: 'true',
    EXTENDED_TIMEOUTS: 'true',
    PARALLEL_BUILDS: 'false',
    CACHE_PREWARMING: 'true',
    SKIP_OPTIONAL_CHECKS: 'false',
  },
  standard: {
    EXTRA_RETRIES: 'false',
    EXTENDED_TIMEOUTS: 'false',
    PARALLEL_BUILDS: 'true',
    CACHE_PREWARMING: 'true',
    SKIP_OPTIONAL_CHECKS: 'false',
  },
  aggressive: {
    EXTRA_RETRIES: 'false',
    EXTENDED_TIMEOUTS: 'false',
    PARALLEL_BUILDS: 'true',
    CACHE_PREWARMING: 'false',
    SKIP_OPTIONAL_CHECKS: 'true',
  },
};

const CAUTION: StrategyName[] = ['aggressive', 'standard', 'conservative'];
const more = (a: StrategyName, b: StrategyName): StrategyName => (CAUTION.indexOf(a) >= CAUTION.indexOf(b) ? a : b);
const oneStepSafer = (s: StrategyName): StrategyName => CAUTION[Math.min(CAUTION.indexOf(s) + 1, CAUTION.length - 1)];

/** The size of the change, when the caller knows it (factors only carry the top contributions). */
export interface ChangeSummary {
  files_changed?: number | null;
  churn?: number | null;
  touches_deps?: boolean | null;
  touches_ci?: boolean | null;
}

export interface PolicyInput {
  probability: number;
  riskLevel: RiskLevel;
  now: Date;
  timezone: string;
  serviceHealth?: Record<string, number> | null;
  /** The score's factors; the policy reads some of their values by name (the model's view of the change). */
  factors?: readonly { feature: string; value: number | null }[];
  change?: ChangeSummary;
  config?: PolicyConfig;
}

const pct = (p: number): string => `p=${p.toFixed(2)}`;

function factorValue(factors: PolicyInput['factors'], name: string): number | null {
  const v = factors?.find((f) => f.feature === name)?.value;
  return v == null || Number.isNaN(v) ? null : v;
}

export function decidePolicy(input: PolicyInput): Policy {
  const cfg = input.config ?? DEFAULT_POLICY_CONFIG;
  const { probability: p, riskLevel: level } = input;
  const clock = localClock(input.now, input.timezone);
  const maintenance = findWindow(clock, cfg.maintenanceWindows);
  const riskyPeriod = findWindow(clock, cfg.highRiskPeriods);

  const health = Object.entries(input.serviceHealth ?? {}).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const degraded = health.filter(([, h]) => h < cfg.degradedHealth);
  const down = health.filter(([, h]) => h < cfg.downHealth);
  const caches = health.filter(([name]) => /cache/i.test(name));

  const files = input.change?.files_changed ?? factorValue(input.factors, 'files_changed');
  const churn = input.change?.churn ?? factorValue(input.factors, 'churn');
  const touchesDeps = input.change?.touches_deps ?? factorValue(input.factors, 'touches_deps') === 1;
  const large = (files != null && files >= cfg.largeChangeFiles) || (churn != null && churn >= cfg.largeChangeChurn);

  // Strategy: start from the risk level, then let time and dependency health only ever push toward caution.
  let name: StrategyName = level === 'high' ? 'conservative' : level === 'medium' ? 'standard' : 'aggressive';
  const reasons = [`risk is ${level} (${pct(p)})`];
  if (riskyPeriod) {
    const next = oneStepSafer(name);
    if (next !== name) reasons.push(`high-risk period ${riskyPeriod.label} (${clock.text})`);
    name = next;
  }
  if (maintenance && name !== 'conservative') {
    reasons.push(`maintenance window ${maintenance.label} (${clock.text})`);
    name = 'conservative';
  }
  if (down.length && name !== 'conservative') {
    reasons.push(`dependency down: ${down.map(([n, h]) => `${n}=${h}`).join(', ')}`);
    name = 'conservative';
  } else if (degraded.length && more(name, 'standard') !== name) {
    reasons.push(`dependency degraded: ${degraded.map(([n, h]) => `${n}=${h}`).join(', ')}`);
    name = 'standard';
  }

  // Retry: riskier → more attempts and longer caps; flaky dependencies earn one more attempt.
  const retry = { ...RETRY[level] };
  if (degraded.length) retry.max_attempts += 1;
  if (down.length || maintenance) retry.max_delay_ms *= 2;

  const mitigations: Mitigation[] = [];
  const add = (action: MitigationAction, reason: string) => {
    if (!mitigations.some((m) => m.action === action)) mitigations.push({ action, reason });
  };
  if (level !== 'low') add('enable_extra_retries', `risk is ${level} (${pct(p)})`);
  else if (degraded.length) add('enable_extra_retries', `degraded dependency ${degraded[0][0]}=${degraded[0][1]}`);
  if (level === 'high') add('increase_timeouts', `risk is high (${pct(p)})`);
  else if (down.length) add('increase_timeouts', `dependency down ${down[0][0]}=${down[0][1]}`);
  else if (maintenance) add('increase_timeouts', `maintenance window ${maintenance.label}`);
  if (p >= 0.9) add('require_manual_approval', `failure is very likely (${pct(p)})`);
  else if (level === 'high' && (maintenance || riskyPeriod))
    add(
      'require_manual_approval',
      `high risk during ${maintenance ? `maintenance window ${maintenance.label}` : `high-risk period ${riskyPeriod!.label}`}`,
    );
  if (level === 'high' && large)
    add('split_build_into_chunks', `large change (${files ?? '?'} files, churn ${churn ?? '?'}) at high risk`);
  if (touchesDeps && level !== 'low') add('warm_cache_preemptively', 'dependency manifest or lockfile changed');
  const weakCache = caches.find(([, h]) => h < cfg.degradedHealth);
  if (weakCache && weakCache[1] >= cfg.downHealth)
    add('warm_cache_preemptively', `cache degraded ${weakCache[0]}=${weakCache[1]}`);
  const deadCache = caches.find(([, h]) => h < cfg.downHealth);
  if (deadCache) add('use_alternative_cache', `cache down ${deadCache[0]}=${deadCache[1]}`);

  return {
    retry,
    strategy: { name, env: { ...STRATEGY_ENV[name] }, reasons },
    mitigations,
    time: {
      local: clock.text,
      maintenance_window: maintenance?.label ?? null,
      high_risk_period: riskyPeriod?.label ?? null,
    },
  };
}

/** The policy a CI step applies when the service cannot answer (fail-open): plain standard settings, no mitigations. */
export function standardPolicy(now = new Date(), timezone = 'UTC'): Policy {
  return {
    retry: { ...RETRY.medium },
    strategy: {
      name: 'standard',
      env: { ...STRATEGY_ENV.standard },
      reasons: ['risk service unavailable: standard policy (fail-open)'],
    },
    mitigations: [],
    time: { local: localClock(now, timezone).text, maintenance_window: null, high_risk_period: null },
  };
}

/**
 * Delay before retry number `attempt` (1 = first retry): exponential from the base, capped, with the
 * configured share randomised so many runners retrying a shared dependency do not stampede it together.
 */
export function backoffDelay(r: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(r.max_delay_ms, r.base_delay_ms * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (1 - r.jitter) + exp * r.jitter * random());
}
