import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ENV_VARS } from '../../src/config.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const CONFIG = /^src\/config(\.ts|\/)/;

/**
 * Files outside the config module that may name process.env, and why. Anything else reading it is a
 * setting that belongs in src/config.ts or src/config/ (issue #21).
 */
const ALLOWED: Record<string, string> = {
  // Entry points that hand the environment to code that takes it as an argument.
  'src/ci/action-main.ts': 'the GitHub Action entry: passes process.env to runCheck',
  'src/commands/check.ts': 'runCheck(argv, process.env): the CI client reads the runner context (GITHUB_*) it is given',
  // NO_COLOR is the cross-tool convention (no-color.org) for any program writing to a terminal, not a
  // Riskgate setting, and it is read where the colour is chosen.
  'src/log-format.ts': 'NO_COLOR',
};

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(relative(ROOT, p));
  }
  return out;
}

test('only the config module reads process.env in src/ and training/', () => {
  const readers: string[] = [];
  for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'training'))]) {
    if (CONFIG.test(file)) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    if (/process\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])|\{[^}]*\benv\b[^}]*\}\s*=\s*process\b/.test(text))
      readers.push(file);
  }
  assert.deepEqual(
    readers.filter((f) => !(f in ALLOWED)),
    [],
    'read the variable in src/config.ts or src/config/ and pass the setting in',
  );
  // An entry that no longer reads process.env is stale.
  assert.deepEqual(
    Object.keys(ALLOWED).filter((f) => !readers.includes(f)),
    [],
  );
});

test('every RISKGATE_* and GITHUB_* variable the config module names is in the one table', () => {
  const named = new Set<string>();
  for (const file of sources(join(ROOT, 'src')).filter((f) => CONFIG.test(f)))
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/\b(?:RISKGATE|GITHUB)_[A-Z0-9_]+\b/g))
      named.add(m[0]);
  assert.ok(named.size > 40, `found only ${named.size}`);
  assert.deepEqual(
    [...named].filter((n) => !(n in ENV_VARS)),
    [],
  );
});
