import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { progressLog } from '../../src/commands/shared.ts';

test('progressLog: on a terminal a ticker runs between step messages; off one only the messages', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let t = 0;
    const tty: string[] = [];
    const p = progressLog('riskgate train', {
      out: { isTTY: true, write: (s: string) => (tty.push(s), true) } as never,
      now: () => t,
      everyMs: 1000,
    });
    t = 2000;
    mock.timers.tick(2000);
    assert.equal(tty.at(-1), '\r\x1b[Kriskgate train: starting… 2 s');
    p.log('framed 3000 finished runs');
    t = 14_000;
    mock.timers.tick(1000);
    assert.equal(tty.at(-1), '\r\x1b[Kriskgate train: working (last: framed 3000 finished runs)… 14 s');
    assert.ok(tty.includes('framed 3000 finished runs\n'));
    p.done();
    const n = tty.length;
    mock.timers.tick(5000);
    assert.equal(tty.length, n, 'no ticks after done');
    assert.equal(tty.at(-1), '\r\x1b[K', 'the ticker line is cleared');

    const plain: string[] = [];
    const q = progressLog('riskgate backtest', {
      out: { isTTY: false, write: (s: string) => (plain.push(s), true) } as never,
    });
    mock.timers.tick(5000);
    q.log('trained gbdt on 900 rows');
    q.done();
    assert.deepEqual(plain, ['trained gbdt on 900 rows\n']);
  } finally {
    mock.timers.reset();
  }
});
