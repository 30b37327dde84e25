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

const formatters = new Map<string, Intl.DateTimeFormat>();
// Intl formatting dominates policy time; every real zone offset is a whole number of minutes, so cache per minute.
const clockCache = new Map<string, LocalClock>();
export function localClock(at: Date, timeZone: string): LocalClock {
  const key = `${Math.floor(at.getTime() / 60_000)}|${timeZone}`;
  let hit = clockCache.get(key);
  if (!hit) {
    hit = computeClock(at, timeZone);
    if (clockCache.size > 10_000) clockCache.clear();
    clockCache.set(key, hit);
  }
  return hit;
}

function computeClock(at: Date, timeZone: string): LocalClock {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  let wd = 'Sun';
  for (const p of fmt.formatToParts(at)) {
    if (p.type === 'weekday') {
      wd = p.value;
      weekday = DAY_NAMES.indexOf(p.value.toLowerCase());
    } else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  const text = `${wd} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} ${timeZone}`;
  return { weekday, minutes: hour * 60 + minute, text };
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
