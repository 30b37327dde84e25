/** The pipeline-facing answer: how to retry, which build strategy, which mitigations and why. */
export type RiskLevel = 'low' | 'medium' | 'high';
export type StrategyName = 'conservative' | 'standard' | 'aggressive';
export type MitigationAction =
  | 'enable_extra_retries'
  | 'increase_timeouts'
  | 'require_manual_approval'
  | 'split_build_into_chunks'
  | 'warm_cache_preemptively'
  | 'use_alternative_cache';

export interface RetryPolicy {
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
  /** Share of each delay that is randomised: 0 = none, 1 = full jitter. */
  jitter: number;
}

export interface Strategy {
  name: StrategyName;
  env: Record<string, string>;
  reasons: string[];
}

export interface Mitigation {
  action: MitigationAction;
  reason: string;
}

export interface Policy {
  retry: RetryPolicy;
  strategy: Strategy;
  mitigations: Mitigation[];
  time: { local: string; maintenance_window: string | null; high_risk_period: string | null };
}

/** A weekly recurring period in local time, e.g. "Fri 16:00-24:00". */
export interface TimeWindow {
  label: string;
  /** 0 = Sunday … 6 = Saturday */
  days: number[];
  /** Minutes after local midnight; end is exclusive and may be 1440. */
  start: number;
  end: number;
}

export interface Thresholds {
  /** Probability strictly above which the risk is medium. */
  medium: number;
  /** Probability strictly above which the risk is high. */
  high: number;
}

export interface PolicyConfig {
  maintenanceWindows: TimeWindow[];
  highRiskPeriods: TimeWindow[];
  /** Services whose health is below this count as degraded. */
  degradedHealth: number;
  /** Services whose health is below this count as down. */
  downHealth: number;
  /** Change size from which a risky build is split. */
  largeChangeFiles: number;
  largeChangeChurn: number;
}
