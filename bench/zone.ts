/**
 * `npm run bench -- zone`: nanoseconds per local-time lookup through src/time/zone.ts (what every feature
 * row, policy decision and report week asks), against its peer in the same run: Intl.DateTimeFormat's
 * formatToParts, asked afresh each time as code without the cache would. Lookups 1 s apart stay in a cached
 * quarter hour (a busy server's requests); 15 min apart every one is a miss (a cold cache, years of history).
 */
import { Calendar } from '../src/features/calendar.ts';
import { localClock } from '../src/policy/windows.ts';
import { WeekClock } from '../src/report/weeks.ts';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const ZONE = 'Europe/Berlin';

function nsPer(n: number, step: number, f: (ms: number) => number): number {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += f(T0 - 1e12 + i * step); // warm up the JIT, not the cache
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += f(T0 + i * step);
  const ns = Number(process.hrtime.bigint() - t) / n;
  if (sink === -1) console.log(sink); // keep the work observable
  return Math.round(ns * 10) / 10;
}

export async function run(): Promise<Record<string, number>> {
  const intl = new Intl.DateTimeFormat('en-US', {
    timeZone: ZONE,
    hour: 'numeric',
    hourCycle: 'h23',
    weekday: 'short',
  });
  const peer = nsPer(100_000, 1000, (ms) => intl.formatToParts(ms).length);
  const cal = new Calendar(ZONE);
  const calendarWarm = nsPer(2_000_000, 1000, (ms) => cal.at(ms).hour);
  const coldCal = new Calendar(ZONE);
  const calendarCold = nsPer(100_000, 900_000, (ms) => coldCal.at(ms).hour);
  const weeks = new WeekClock(ZONE);
  const weekStart = nsPer(2_000_000, 1000, (ms) => weeks.weekStart(ms).length);
  const clock = nsPer(2_000_000, 1000, (ms) => localClock(new Date(ms), ZONE).minutes);
  return {
    intl_format_to_parts_ns: peer,
    calendar_at_cached_ns: calendarWarm,
    calendar_at_cold_ns: calendarCold,
    week_start_ns: weekStart,
    local_clock_ns: clock,
    peer_over_cached_calendar: Math.round((peer / calendarWarm) * 10) / 10,
    peer_over_cold_calendar: Math.round((peer / calendarCold) * 100) / 100,
  };
}
