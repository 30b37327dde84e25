import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from '../support/cli.ts';

test('every command exits 2 with one line naming it on an unknown flag', async () => {
  for (const name of [
    'backtest',
    'import',
    'serve',
    'train',
    'ingest',
    'jobs',
    'models',
    'worker',
    'report',
    'simulate-canary',
    'simulate',
    'check',
  ]) {
    const r = await cli([name, '--no-such-flag']);
    assert.equal(r.code, 2, `${name}: ${r.err}`);
    assert.match(r.err, new RegExp(`^riskgate ${name}: Unknown option '--no-such-flag'`), name);
    assert.doesNotMatch(r.err, /\n\s+at /, `${name}: no stack trace`);
  }
  assert.match(
    (await cli(['--help'])).out,
    /Exit codes: 0 done, 1 the work failed, 2 bad usage or bad input, 3 not found/,
  );
});
