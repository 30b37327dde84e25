import { createEventLog, type EventLog, type EventLogOptions } from '../store/event-log.ts';
import type { Store } from '../store/types.ts';

/** Event kind of a recorded risk check (the dashboard's overview and detail pages read it). */
export const RISK_EVENT = 'risk';

export type RiskLog = EventLog;

/** Risk checks, logged behind the answer for the dashboard (its overview and detail pages read them). */
export const createRiskLog = (store: Store, o: EventLogOptions = {}): RiskLog => createEventLog(store, RISK_EVENT, o);
