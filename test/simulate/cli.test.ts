import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseSimulateArgs, run } from '../../src/commands/simulate.ts';
import { simulateHistory } from '../../src/simulate/history.ts';

const dir = mkdtempSync(join(tmpdir(), 'riskgate-sim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('--out FILE.jsonl.gz writes the same records simulateHistory returns, one per line', async () => {
  const out = join(dir, 'nested', 'sim.jsonl.gz');
  assert.equal(await run(['--seed', '11', '--repos', '2', '--runs', '40', '--out', out]), 0);
  const lines = gunzipSync(readFileSync(out)).toString('utf8').trimEnd().split('\n');
  assert.equal(lines.length, 80);
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    simulateHistory({ seed: 11, repos: 2, runsPerRepo: 40 }),
  );
  const plain = join(dir, 'sim.jsonl');
  assert.equal(await run(['--seed', '11', '--repos', '2', '--runs', '40', '--out', plain]), 0);
  assert.equal(readFileSync(plain, 'utf8'), lines.join('\n') + '\n');
});

test('argument parsing: repo lists, numbers, and errors with exit code 2', async () => {
  assert.deepEqual(parseSimulateArgs(['--repos', 'a/b,c/d', '--runs', '5']).opts.repos, ['a/b', 'c/d']);
  assert.equal(parseSimulateArgs(['--repos', '4']).opts.repos, 4);
  for (const argv of [
    ['--runs', '-3'],
    ['--seed', 'x'],
    ['--repos', 'bad'],
    ['--out', join(dir, 'x.csv')],
    ['--nope'],
    ['extra'],
    ['--timezone', 'No/Where'],
  ]) {
    assert.equal(await run(argv), 2, argv.join(' '));
  }
  assert.equal(existsSync(join(dir, 'x.csv')), false);
});
