import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { outputsOf, parseFileCommand } from '../../src/ci/outputs.ts';
import { standardPolicy } from '../../src/policy/index.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';

const ACTION = readFileSync('action.yml', 'utf8');

test('every output the composite action declares is one riskgate check writes', () => {
  const declared = [...ACTION.matchAll(/steps\.check\.outputs\.([a-z_]+)/g)].map((m) => m[1]);
  assert.ok(declared.length >= 5);
  const written = Object.keys(outputsOf({ response: null, policy: standardPolicy() }));
  for (const d of declared) assert.ok(written.includes(d), `${d} is written by riskgate check`);
});

test("the action's run script calls the check with its inputs", { timeout: 30_000 }, async () => {
  const script = /- id: check[\s\S]*?run: \|\n([\s\S]*)$/.exec(ACTION)?.[1];
  assert.ok(script, 'found the check step');
  const body = script.split('\n').map((l) => l.replace(/^ {8}/, '')).join('\n');
  const s = await serveApp({ scorer: fixedScorer(0.5) });
  const dir = mkdtempSync(join(tmpdir(), 'rg-action-'));
  try {
    const out = join(dir, 'out');
    writeFileSync(out, '');
    const env = {
      ...process.env,
      GITHUB_ACTION_PATH: resolve('.'),
      GITHUB_OUTPUT: out,
      GITHUB_REPOSITORY: 'acme/web',
      RISKGATE_URL_INPUT: s.url,
      RISKGATE_API_KEY: '',
      INPUT_TIMEOUT: '5',
      INPUT_FAIL_CLOSED: 'false',
      INPUT_SERVICE_HEALTH: 'npm-registry=0.6\n  gha-cache=0.4  \n',
      INPUT_BASE: '',
      INPUT_ARGS: '--no-diff',
    };
    const code = await new Promise<number | null>((res) => spawn('bash', ['-c', body], { env, stdio: 'ignore' }).on('close', res));
    assert.equal(code, 0);
    const o = parseFileCommand(readFileSync(out, 'utf8'));
    assert.equal(o.risk_level, 'medium');
    assert.ok(o.mitigations.includes('use_alternative_cache'), 'service-health lines reached the server');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  }
});
