#!/usr/bin/env node
// Node 20's test runner does not expand globs, so collect test files here and hand them over.
//   node scripts/run-tests.mjs                  every test file
//   node scripts/run-tests.mjs canary api/app   files whose path contains any of the words
//   node scripts/run-tests.mjs --fast           the edit loop: skips e2e (Chromium), reliability
//                                               (crash, fuzz, load) and cluster tests, ~1/3 of the time
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const filter = args.filter((a) => a !== '--fast');
const SLOW = [/^test\/e2e\//, /^test\/reliability\//, /cluster/, /\.integration\.test\.ts$/, /postgres/];
const files = collect('test')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .filter((f) => !fast || !SLOW.some((re) => re.test(f.split('\\').join('/'))))
  .sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
