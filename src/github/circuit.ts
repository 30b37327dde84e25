import type { CircuitRow, Store } from '../store/types.ts';

export interface CircuitOptions {
  name?: string;
  /** Consecutive dependency failures that open the circuit. */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before letting one probe through. */
  cooldownMs?: number;
  now?: () => number;
  /** When given, state is written through so `/health` in another process sees it. */
  store?: Pick<Store, 'getCircuit' | 'putCircuit'>;
}

export interface DependencyHealth {
  name: string;
  healthy: boolean;
  state: CircuitRow['state'];
  /** 1 = fully healthy, 0 = open; falls as failures accumulate. */
  score0to1: number;
  consecutive_failures: number;
  retry_at: number | null;
}

export class CircuitOpenError extends Error {
  readonly code = 'CIRCUIT_OPEN';
  constructor(
    readonly dependency: string,
    readonly retryAt: number,
  ) {
    super(`${dependency} circuit is open after repeated failures; next probe at ${new Date(retryAt).toISOString()}`);
    this.name = 'CircuitOpenError';
  }
}

/**
 * A closed → open → half-open breaker. Only failures of the dependency itself (5xx, network) count;
 * rate limits and 4xx are answers, not outages, and must not trip it.
 */
export class CircuitBreaker {
  readonly name: string;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly store?: CircuitOptions['store'];
  private row: CircuitRow;

  constructor(opts: CircuitOptions = {}) {
    this.name = opts.name ?? 'github';
    this.threshold = opts.failureThreshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.store = opts.store;
    this.row = this.store?.getCircuit(this.name) ?? {
      name: this.name,
      state: 'closed',
      consecutive_failures: 0,
      opened_at: null,
      trial_at: null,
      updated_at: this.now(),
    };
  }

  /** True when a call may go out now. In half-open state only one trial is handed out per cooldown. */
  allow(): boolean {
    const now = this.now();
    const r = this.row;
    if (r.state === 'closed') return true;
    if (r.state === 'open') {
      if (now - (r.opened_at ?? now) < this.cooldownMs) return false;
      this.save({ ...r, state: 'half_open', trial_at: now });
      return true;
    }
    // half_open: a trial is out; if it never reported back (crash), hand out another after a cooldown.
    if (r.trial_at != null && now - r.trial_at < this.cooldownMs) return false;
    this.save({ ...r, trial_at: now });
    return true;
  }

  success(): void {
    if (this.row.state === 'closed' && this.row.consecutive_failures === 0) return;
    this.save({ ...this.row, state: 'closed', consecutive_failures: 0, opened_at: null, trial_at: null });
  }

  failure(): void {
    const now = this.now();
    const failures = this.row.consecutive_failures + 1;
    if (this.row.state === 'half_open' || failures >= this.threshold) {
      this.save({ ...this.row, state: 'open', consecutive_failures: failures, opened_at: now, trial_at: null });
    } else {
      this.save({ ...this.row, consecutive_failures: failures });
    }
  }

  retryAt(): number {
    return (this.row.opened_at ?? this.now()) + this.cooldownMs;
  }

  health(): DependencyHealth {
    const r = this.row;
    const score =
      r.state === 'open' ? 0 : r.state === 'half_open' ? 0.5 : Math.max(0, 1 - r.consecutive_failures / this.threshold);
    return {
      name: this.name,
      healthy: r.state === 'closed',
      state: r.state,
      score0to1: score,
      consecutive_failures: r.consecutive_failures,
      retry_at: r.state === 'closed' ? null : this.retryAt(),
    };
  }

  private save(row: CircuitRow): void {
    this.row = { ...row, updated_at: this.now() };
    try {
      this.store?.putCircuit(this.row);
    } catch {
      /* health reporting must never break the calls it describes */
    }
  }
}
