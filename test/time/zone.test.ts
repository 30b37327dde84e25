import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ZoneClock } from '../../src/time/zone.ts';
import { Calendar } from '../../src/features/calendar.ts';
import { WeekClock } from '../../src/report/weeks.ts';
import { localClock } from '../../src/policy/windows.ts';

// Zones whose offsets are not whole hours or cross the date line: Nepal +5:45, Chatham +12:45/+13:45,
// Lord Howe's 30-minute DST, Kiribati +14, Samoa (skipped 2011-12-30), Newfoundland −3:30/−2:30.
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'Australia/Lord_Howe',
  'Pacific/Kiritimati',
  'Pacific/Apia',
  'America/St_Johns',
  'Pacific/Pago_Pago',
];
const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** What Intl says of `ms` itself: the reference the cached quarters must agree with. */
function exact(ms: number, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  const hour = Number(parts.hour) % 24;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: WEEKDAY[parts.weekday],
    hour,
    minutes: hour * 60 + Number(parts.minute),
  };
}

// 1980–2035: every offset since 1980 is a multiple of 15 minutes (the assumption zone.ts rests on).
const instant = fc.integer({ min: Date.parse('1980-01-01T00:00:00Z'), max: Date.parse('2035-01-01T00:00:00Z') });

test('a zone clock agrees with Intl at every instant, in zones with odd offsets and date-line moves', () => {
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), instant, (tz, ms) => {
      const want = exact(ms, tz);
      const clock = new ZoneClock(tz);
      const q = clock.at(ms);
      assert.equal(new Date(q.day * 86_400_000).toISOString().slice(0, 10), want.date);
      assert.equal(q.weekday, want.weekday);
      assert.equal(q.hour, want.hour);
      assert.equal(clock.minutesAt(ms), want.minutes);
    }),
    { numRuns: 2000 },
  );
});

test('calendar, report weeks and policy windows read the same wall clock', () => {
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), instant, (tz, ms) => {
      const want = exact(ms, tz);
      assert.deepEqual(
        { hour: new Calendar(tz).at(ms).hour, weekday: new Calendar(tz).at(ms).weekday },
        { hour: want.hour, weekday: want.weekday },
      );
      const c = localClock(new Date(ms), tz);
      assert.equal(c.weekday, want.weekday);
      assert.equal(c.minutes, want.minutes);
      // The Monday starting the week: the local date minus days since Monday.
      const monday = new Date(Date.parse(want.date + 'T00:00:00Z') - ((want.weekday + 6) % 7) * 86_400_000);
      assert.equal(new WeekClock(tz).weekStart(ms), monday.toISOString().slice(0, 10));
    }),
    { numRuns: 1000 },
  );
});

test('Samoa skipped 2011-12-30: the quarter after 10:00 UTC that day is Saturday the 31st', () => {
  const clock = new ZoneClock('Pacific/Apia');
  const before = clock.at(Date.parse('2011-12-30T09:59:00Z'));
  const after = clock.at(Date.parse('2011-12-30T10:00:00Z'));
  assert.deepEqual([before.weekday, before.hour], [4, 23]); // Thursday the 29th, 23:59 local
  assert.deepEqual([after.weekday, after.hour], [6, 0]);
  assert.equal(after.day - before.day, 2);
});

test('an unknown zone is a RangeError, as Intl gives it', () => {
  assert.throws(() => new ZoneClock('Mars/Olympus_Mons'), RangeError);
  assert.throws(() => localClock(new Date(0), 'Mars/Olympus_Mons'), RangeError);
});

test("every zone Intl knows has offsets in whole quarter hours since 1980 (zone.ts's cache assumes it)", () => {
  const odd: string[] = [];
  for (const tz of Intl.supportedValuesOf('timeZone')) {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    // Every 30 days: an odd offset in use for a month or more shows up.
    for (let t = Date.parse('1980-01-01T00:00:00Z'); t < Date.parse('2036-01-01T00:00:00Z'); t += 30 * 86_400_000) {
      const m = /GMT(?:[+-](\d\d):(\d\d)(:\d\d)?)?$/.exec(f.format(t));
      if (!m || (m[2] !== undefined && (Number(m[2]) % 15 !== 0 || m[3] !== undefined))) {
        odd.push(`${tz} ${new Date(t).toISOString()} ${f.format(t)}`);
        break;
      }
    }
  }
  assert.deepEqual(odd, []);
});

test('a layout the fast parse does not know falls back to Intl parts with the same answer', () => {
  for (const tz of ZONES) {
    const fast = new ZoneClock(tz);
    const slow = new ZoneClock(tz);
    // What another ICU's locale data might print.
    Object.defineProperty((slow as any).fmt, 'format', { value: () => 'Donnerstag, 1 Uhr' });
    for (let ms = Date.parse('2024-03-30T00:00:00Z'); ms < Date.parse('2024-04-01T00:00:00Z'); ms += 15 * 60_000) {
      assert.deepEqual(slow.at(ms), fast.at(ms), `${tz} ${new Date(ms).toISOString()}`);
    }
  }
});
