import { ZoneClock } from '../time/zone.ts';

/**
 * Monday-based calendar weeks in an IANA time zone. Week boundaries follow the team's local midnight, so a
 * Friday-evening deploy in New York is not counted in the next week just because it is Saturday in UTC.
 */
const DAY_MS = 86_400_000;

export class WeekClock {
  private readonly zone: ZoneClock;
  /** Monday's date per local Monday day number: a report spans a few hundred weeks at most. */
  private readonly mondays = new Map<number, string>();
  constructor(readonly timeZone = 'UTC') {
    // Throws RangeError on an unknown zone; callers report it as a bad option.
    this.zone = new ZoneClock(timeZone);
  }

  /** The local date (YYYY-MM-DD) of the Monday starting the week that contains `ms`. */
  weekStart(ms: number): string {
    const { day, weekday } = this.zone.at(ms);
    const monday = day - ((weekday + 6) % 7);
    let v = this.mondays.get(monday);
    if (v === undefined) {
      v = new Date(monday * DAY_MS).toISOString().slice(0, 10);
      if (this.mondays.size > 100_000) this.mondays.clear();
      this.mondays.set(monday, v);
    }
    return v;
  }
}

/** The week starts (YYYY-MM-DD) from `first` to `last` inclusive, seven days apart. */
export function weekRange(first: string, last: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(first + 'T00:00:00Z'), end = Date.parse(last + 'T00:00:00Z'); t <= end; t += 7 * DAY_MS) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export function addWeeks(week: string, n: number): string {
  return new Date(Date.parse(week + 'T00:00:00Z') + n * 7 * DAY_MS).toISOString().slice(0, 10);
}
