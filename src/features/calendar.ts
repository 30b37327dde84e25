/**
 * Local hour and weekday in the configured IANA time zone, for the time features: the project's one zone
 * clock (time/zone.ts), under the name the feature code uses. `at(ms)` gives `{ hour, weekday }` (0 = Sunday).
 */
export { ZoneClock as Calendar, type LocalQuarter as LocalTime } from '../time/zone.ts';
