/**
 * Monday-based calendar weeks in an IANA time zone. Week boundaries follow the team's local midnight, so a
 * Friday-evening deploy in New York is not counted in the next week just because it is Saturday in UTC.
 */
const BUCKET_MS = 15 * 60 * 1000;
const DAY_MS = 86_400_000;
const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export class WeekClock {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly cache = new Map<number, string>();
  constructor(readonly timeZone = 'UTC') {
    // Throws RangeError on an unknown zone; callers report it as a bad option.
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
    });
  }

  /** The local date (YYYY-MM-DD) of the Monday starting the week that contains `ms`. */
  weekStart(ms: number): string {
    // Every real zone offset is a multiple of 15 minutes, so the local date is constant within a bucket.
    const key = Math.floor(ms / BUCKET_MS);
    let v = this.cache.get(key);
    if (v === undefined) {
      let y = 0;
      let m = 0;
      let d = 0;
      let wd = 0;
      for (const p of this.fmt.formatToParts(ms)) {
        if (p.type === 'year') y = Number(p.value);
        else if (p.type === 'month') m = Number(p.value);
        else if (p.type === 'day') d = Number(p.value);
        else if (p.type === 'weekday') wd = WEEKDAY[p.value] ?? 0;
      }
      v = new Date(Date.UTC(y, m - 1, d) - wd * DAY_MS).toISOString().slice(0, 10);
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(key, v);
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
