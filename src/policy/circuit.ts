import type { CircuitRow, Store } from '../store/types.ts';

/**
 * Shared circuit breaker for a pipeline's external dependencies. The state machine is pure (`step`, `view`);
 * `CircuitService` persists it through the store so every runner sees the same answer.
 *
 *   closed ──N consecutive failures──▶ open ──cooldown elapsed──▶ half-open
 *   half-open: exactly one "attempt" gets the go-ahead; its success closes, its failure re-opens.
 *
 * "Open" becoming "half-open" is computed from the clock on read, so nothing has to run in the background.
 */
export interface CircuitSettings {
  failureThreshold: number;
  cooldownMs: number;
}
export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = { failureThreshold: 5, cooldownMs: 300_000 };

export type CircuitEvent = 'success' | 'failure' | 'attempt';
export type PublicState = 'closed' | 'open' | 'half-open';

export interface CircuitView {
  name: string;
  state: PublicState;
  consecutive_failures: number;
  failure_threshold: number;
  cooldown_ms: number;
  cooldown_remaining_ms: number;
  trial_in_flight: boolean;
  allowed: boolean;
  updated_at: string | null;
}

export function emptyCircuit(name: string, now: number): CircuitRow {
  return { name, state: 'closed', consecutive_failures: 0, opened_at: null, trial_at: null, updated_at: now };
}

/** A trial that never reported back (runner died) is given up after another cooldown, so the circuit cannot stick. */
function trialInFlight(row: CircuitRow, now: number, s: CircuitSettings): boolean {
  return row.trial_at != null && now - row.trial_at < s.cooldownMs;
}

/** The state as of `now` (open turns half-open once the cooldown has passed). */
export function effectiveState(row: CircuitRow, now: number, s: CircuitSettings): CircuitRow['state'] {
  if (row.state === 'open' && row.opened_at != null && now - row.opened_at >= s.cooldownMs) return 'half_open';
  return row.state;
}

export function view(
  row: CircuitRow | undefined,
  name: string,
  now: number,
  s: CircuitSettings,
  allowed?: boolean,
): CircuitView {
  const r = row ?? emptyCircuit(name, now);
  const state = effectiveState(r, now, s);
  const inFlight = state === 'half_open' && trialInFlight(r, now, s);
  const remaining = state === 'open' && r.opened_at != null ? Math.max(0, r.opened_at + s.cooldownMs - now) : 0;
  return {
    name,
    state: state === 'half_open' ? 'half-open' : state,
    consecutive_failures: r.consecutive_failures,
    failure_threshold: s.failureThreshold,
    cooldown_ms: s.cooldownMs,
    cooldown_remaining_ms: remaining,
    trial_in_flight: inFlight,
    // For a plain read: would an attempt made now be let through?
    allowed: allowed ?? (state === 'closed' || (state === 'half_open' && !inFlight)),
    updated_at: row ? new Date(row.updated_at).toISOString() : null,
  };
}

/** Applies one event; returns the next row and, for "attempt", whether this caller may go ahead. */
export function step(
  row: CircuitRow | undefined,
  name: string,
  event: CircuitEvent,
  now: number,
  s: CircuitSettings,
): { row: CircuitRow; allowed: boolean } {
  const r: CircuitRow = { ...(row ?? emptyCircuit(name, now)), updated_at: now };
  const state = effectiveState(r, now, s);

  if (event === 'attempt') {
    if (state === 'closed') return { row: r, allowed: true };
    if (state === 'open') return { row: r, allowed: false };
    if (trialInFlight(r, now, s)) return { row: r, allowed: false };
    return { row: { ...r, state: 'half_open', trial_at: now }, allowed: true };
  }

  if (event === 'success') {
    // A success while open (a call that started before the circuit opened) says little; only a
    // half-open trial or normal traffic closes/resets it.
    if (state === 'open') return { row: r, allowed: false };
    return { row: { ...r, state: 'closed', consecutive_failures: 0, opened_at: null, trial_at: null }, allowed: true };
  }

  // failure
  const failures = r.consecutive_failures + 1;
  if (state === 'half_open')
    return {
      row: { ...r, state: 'open', consecutive_failures: failures, opened_at: now, trial_at: null },
      allowed: false,
    };
  if (state === 'open') return { row: { ...r, consecutive_failures: failures }, allowed: false };
  if (failures >= s.failureThreshold)
    return {
      row: { ...r, state: 'open', consecutive_failures: failures, opened_at: now, trial_at: null },
      allowed: false,
    };
  return { row: { ...r, consecutive_failures: failures }, allowed: true };
}

export class CircuitService {
  constructor(
    private readonly store: Store,
    private readonly settings: CircuitSettings = DEFAULT_CIRCUIT_SETTINGS,
    private readonly clock: () => number = Date.now,
    /** Called once per transition into open (after the write), e.g. to raise an alert. */
    private readonly onOpen?: (view: CircuitView) => void,
  ) {}

  get(name: string): CircuitView {
    return view(this.store.getCircuit(name), name, this.clock(), this.settings);
  }

  /** Read-modify-write in one transaction so two runners cannot both take the half-open trial. */
  record(name: string, event: CircuitEvent): CircuitView {
    let opened = false;
    const out = this.store.transaction(() => {
      const now = this.clock();
      const before = this.store.getCircuit(name);
      const next = step(before, name, event, now, this.settings);
      this.store.putCircuit(next.row);
      opened = next.row.state === 'open' && before?.state !== 'open';
      return view(next.row, name, now, this.settings, event === 'attempt' ? next.allowed : undefined);
    });
    if (opened) this.onOpen?.(out);
    return out;
  }

  list(page?: { after?: string; limit?: number }): CircuitView[] {
    const now = this.clock();
    return this.store.listCircuits(page).map((r) => view(r, r.name, now, this.settings));
  }
}
