import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig, ConfigError } from '../../src/config.ts';
import { formatLine, logDestination } from '../../src/log-format.ts';

const hhmmss = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

test('pretty log lines: local time, level, message, fields; errors with their stack; other text unchanged', () => {
  const t = Date.UTC(2026, 11, 5, 1, 2, 3, 45);
  assert.equal(
    formatLine(
      JSON.stringify({ level: 30, time: t, pid: 1, hostname: 'h', msg: 'listening', url: 'http://127.0.0.1:8080' }),
    ),
    `${hhmmss(t)} INFO  listening url=http://127.0.0.1:8080`,
  );
  assert.equal(
    formatLine(JSON.stringify({ level: 40, time: t, msg: 'x', note: 'two words', n: 3, o: { a: 1 } })),
    `${hhmmss(t)} WARN  x note="two words" n=3 o={"a":1}`,
  );
  const withErr = formatLine(
    JSON.stringify({
      level: 50,
      time: t,
      msg: 'boom',
      err: { type: 'Error', message: 'bad', stack: 'Error: bad\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)' },
    }),
  );
  assert.equal(withErr, `${hhmmss(t)} ERROR boom err="Error: bad"\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)`);
  assert.equal(formatLine('not json'), 'not json');
  assert.equal(formatLine('[1,2]'), '[1,2]');
});

test('logDestination: auto is JSON off a terminal and pretty on one; pino writes through it', () => {
  const lines: string[] = [];
  const fake = (isTTY: boolean) =>
    ({ isTTY, write: (s: string) => (lines.push(s), true) }) as unknown as NodeJS.WriteStream;
  assert.equal(logDestination('auto', fake(false)), undefined);
  assert.equal(logDestination('json', fake(true)), undefined);
  const dest = logDestination('pretty', fake(false))!;
  const log = pino({ level: 'info' }, dest);
  log.info({ repo: 'acme/web' }, 'ingested');
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO {2}ingested repo=acme\/web\n$/);
  assert.ok(logDestination('auto', fake(true)), 'a terminal gets the readable form');
});

test('RISKGATE_LOG_FORMAT is validated', () => {
  assert.equal(loadConfig({}).logFormat, 'auto');
  assert.equal(loadConfig({ RISKGATE_LOG_FORMAT: 'Pretty' }).logFormat, 'pretty');
  assert.throws(
    () => loadConfig({ RISKGATE_LOG_FORMAT: 'xml' }),
    (e: unknown) => e instanceof ConfigError && /RISKGATE_LOG_FORMAT/.test(e.message),
  );
});
