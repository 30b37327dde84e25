/**
 * Local hour and weekday in a configured IANA time zone. Intl formatting is slow relative to the rest of
 * feature extraction, so results are cached per 15-minute bucket (every real zone offset is a multiple of 15).
 */
const BUCKET_MS = 15 * 60 * 1000;
const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export interface LocalTime {
  hour: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

export class Calendar {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly cache = new Map<number, LocalTime>();
  constructor(readonly timeZone = 'UTC') {
    // Throws RangeError for an unknown zone, which callers surface as a configuration error.
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23', weekday: 'short' });
  }
  at(ms: number): LocalTime {
    const key = Math.floor(ms / BUCKET_MS);
    let v = this.cache.get(key);
    if (v === undefined) {
      let hour = 0;
      let weekday = 0;
      for (const p of this.fmt.formatToParts(key * BUCKET_MS)) {
        if (p.type === 'hour') hour = Number(p.value) % 24;
        else if (p.type === 'weekday') weekday = WEEKDAY[p.value] ?? 0;
      }
      v = { hour, weekday };
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(key, v);
    }
    return v;
  }
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
