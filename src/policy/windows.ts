import { ZoneClock } from '../time/zone.ts';
import type { TimeWindow } from './types.ts';

/**
 * Weekly time windows in local time ("Fri 16:00-24:00", "Sat-Sun 00:00-06:00", "daily 02:00-03:00",
 * "Mon,Wed 22:00-02:00" which wraps past midnight). Parsing throws with the offending entry so a bad
 * environment variable fails at start-up, not at 2 a.m.
 */
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export const DEFAULT_HIGH_RISK_PERIODS = 'Fri 16:00-24:00, Mon 00:00-09:00';

function parseDays(spec: string): number[] {
  const s = spec.toLowerCase();
  if (s === 'daily' || s === '*') return [0, 1, 2, 3, 4, 5, 6];
  if (s === 'weekdays') return [1, 2, 3, 4, 5];
  if (s === 'weekends') return [0, 6];
  const days = new Set<number>();
  for (const part of s.split(',')) {
    const range = part.split('-');
    const idx = range.map((d) => DAY_NAMES.indexOf(d.slice(0, 3)));
    if (idx.some((i) => i < 0) || range.length > 2 || range.some((d) => d.length < 3))
      throw new Error(`unknown day "${part}"`);
    if (idx.length === 1) days.add(idx[0]);
    else
      for (let d = idx[0]; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === idx[1]) break;
      }
  }
  return [...days].sort();
}

function parseClock(s: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`bad time "${s}" (expected HH:MM)`);
  const v = Number(m[1]) * 60 + Number(m[2]);
  if (Number(m[2]) > 59 || v > 1440) throw new Error(`bad time "${s}"`);
  return v;
}

export function parseWindow(entry: string): TimeWindow {
  const m = /^\s*(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(entry);
  if (!m) throw new Error(`bad window "${entry.trim()}" (expected e.g. "Fri 16:00-24:00")`);
  const start = parseClock(m[2]);
  const end = parseClock(m[3]);
  if (start === end) throw new Error(`empty window "${entry.trim()}"`);
  return { label: entry.trim(), days: parseDays(m[1]), start, end };
}

/** Comma or semicolon separated list; day lists inside an entry use commas too, so only a comma after a time separates. */
export function parseWindows(spec: string): TimeWindow[] {
  const entries = spec
    .split(/;|(?<=\d)\s*,/)
    .map((s) => s.trim())
    .filter(Boolean);
  return entries.map(parseWindow);
}

export interface LocalClock {
  weekday: number;
  minutes: number;
  text: string;
}

const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** One zone clock per configured zone (the policy's zone comes from configuration, so there are few). */
const zones = new Map<string, { zone: ZoneClock; minute: number; clock: LocalClock | null }>();

/** The local weekday and time at `at`; the answer for the latest minute asked is kept per zone. */
export function localClock(at: Date, timeZone: string): LocalClock {
  let z = zones.get(timeZone);
  if (z === undefined) {
    if (zones.size > 100) zones.clear();
    // fallback.ts asks with a request's created_at, so the cache is bounded like the per-minute one it replaces.
    z = { zone: new ZoneClock(timeZone, 10_000), minute: NaN, clock: null };
    zones.set(timeZone, z);
  }
  const ms = at.getTime();
  const minute = Math.floor(ms / 60_000);
  if (minute !== z.minute || z.clock === null) {
    const { weekday } = z.zone.at(ms);
    const minutes = z.zone.minutesAt(ms);
    const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
    const mm = String(minutes % 60).padStart(2, '0');
    z.clock = { weekday, minutes, text: `${WEEKDAY_NAMES[weekday]} ${hh}:${mm} ${timeZone}` };
    z.minute = minute;
  }
  return z.clock;
}

export function inWindow(c: LocalClock, w: TimeWindow): boolean {
  if (w.start < w.end) return w.days.includes(c.weekday) && c.minutes >= w.start && c.minutes < w.end;
  // Wraps midnight: the part before midnight belongs to the listed day, the rest to the next day.
  if (w.days.includes(c.weekday) && c.minutes >= w.start) return true;
  return w.days.includes((c.weekday + 6) % 7) && c.minutes < w.end;
}

export function findWindow(c: LocalClock, windows: readonly TimeWindow[]): TimeWindow | null {
  return windows.find((w) => inWindow(c, w)) ?? null;
}
