/**
 * Issue 22: the GitHub Action is one committed file, action/dist/index.cjs, run by the runner's own Node.
 * - The committed bundle is what scripts/build-action.mjs makes from the sources today ("dist is up to date").
 * - action.yml is valid for the runner: actions/runner src/Runner.Worker/action_yaml.json (the template schema
 *   the runner loads action.yml with) and ActionManifestManager.cs (`using: node24` needs `main`), both at
 *   258d6c857db3519913f7deb6004b60172f8043ae; no install step; every output written is declared and back.
 * - Copied alone into an empty folder, it runs as the runner runs a node action: no arguments, inputs as
 *   INPUT_<NAME> variables, GitHub's files read back with the runner's own parser (ported in test/support).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputsOf } from '../../src/ci/outputs.ts';
import { standardPolicy } from '../../src/policy/index.ts';
import { fixedScorer, serveApp } from '../api/helpers.ts';
import { runnerCommands, runnerParseFileCommand } from '../support/actions-runner.ts';

const BUNDLE = 'action/dist/index.cjs';

test('the committed bundle is the one the sources build today', { timeout: 60_000 }, async () => {
  const { bundle } = await import('../../scripts/build-action.mjs');
  const built: string = await bundle();
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is committed`);
  // A plain equality: the message says what to do instead of printing 200 KiB of diff.
  assert.ok(readFileSync(BUNDLE, 'utf8') === built, `${BUNDLE} is out of date: run npm run build:action and commit it`);
});

// ---- A YAML reader for the subset action.yml uses (block mappings, plain / quoted scalars, ">-" folded). ----
// Anything else throws, so an edit outside the subset fails here rather than passing unread.
type Y = string | { [k: string]: Y };
function readYaml(text: string): { [k: string]: Y } {
  const lines = text
    .split('\n')
    .map((raw, i) => ({ raw, i: i + 1 }))
    .filter((l) => l.raw.trim() !== '' && !/^\s*#/.test(l.raw));
  let pos = 0;
  const indentOf = (s: string) => s.length - s.trimStart().length;
  const scalar = (v: string, at: number): string => {
    if (/^'.*'$/.test(v)) return v.slice(1, -1).replace(/''/g, "'");
    if (/^".*"$/.test(v)) return JSON.parse(v);
    if (/^[[{&*!|>%@`]/.test(v) || / #/.test(v)) throw new Error(`line ${at}: unsupported YAML ${v}`);
    return v;
  };
  function block(indent: number): { [k: string]: Y } {
    const out: { [k: string]: Y } = {};
    while (pos < lines.length) {
      const { raw, i } = lines[pos];
      const ind = indentOf(raw);
      if (ind < indent) break;
      if (ind > indent) throw new Error(`line ${i}: unexpected indent`);
      const m = /^([A-Za-z0-9_-]+):(?: (.*))?$/.exec(raw.trim());
      if (!m) throw new Error(`line ${i}: not a mapping entry: ${raw}`);
      if (m[1] in out) throw new Error(`line ${i}: duplicate key ${m[1]}`);
      pos++;
      const v = m[2]?.trim();
      if (v === '>-') {
        const parts: string[] = [];
        while (pos < lines.length && indentOf(lines[pos].raw) > indent) parts.push(lines[pos++].raw.trim());
        out[m[1]] = parts.join(' ');
      } else if (v === undefined || v === '')
        out[m[1]] = pos < lines.length && indentOf(lines[pos].raw) > indent ? block(indentOf(lines[pos].raw)) : '';
      else out[m[1]] = scalar(v, i);
    }
    return out;
  }
  return block(0);
}

// ---- actions/runner src/Runner.Worker/action_yaml.json @258d6c8, the definitions that apply to action.yml. ----
// A mapping with "properties" and no "loose-key-type" accepts only those keys; "non-empty-string" must be
// a non-empty string; "runs" is one-of container/node/plugin/composite.
const isObj = (v: Y | undefined): v is { [k: string]: Y } => typeof v === 'object' && v !== null;
function checkStrict(
  where: string,
  v: Y | undefined,
  props: Record<string, 'string' | 'non-empty-string' | 'any'>,
): string[] {
  if (!isObj(v)) return [`${where}: must be a mapping`];
  const errs: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    const type = props[k];
    if (!type) errs.push(`${where}.${k}: not allowed (allowed: ${Object.keys(props).join(', ')})`);
    else if (type !== 'any' && typeof val !== 'string') errs.push(`${where}.${k}: must be a string`);
    else if (type === 'non-empty-string' && val === '') errs.push(`${where}.${k}: must be non-empty`);
  }
  return errs;
}
function validateActionYaml(doc: { [k: string]: Y }): string[] {
  const errs: string[] = [];
  // action-root: name, description string; inputs, runs, outputs typed; other keys loose (branding, author).
  for (const k of ['name', 'description'] as const)
    if (k in doc && typeof doc[k] !== 'string') errs.push(`${k}: must be a string`);
  if (isObj(doc.inputs))
    for (const [k, v] of Object.entries(doc.inputs))
      if (!k || !isObj(v) || ('default' in v && typeof v.default !== 'string')) errs.push(`inputs.${k}: bad input`);
  if ('outputs' in doc) {
    if (!isObj(doc.outputs)) errs.push('outputs: must be a mapping');
    else
      for (const [k, v] of Object.entries(doc.outputs))
        errs.push(...checkStrict(`outputs.${k}`, v, { description: 'string', value: 'string' }));
  }
  const runs = doc.runs;
  const nodeRuns = {
    using: 'non-empty-string',
    main: 'non-empty-string',
    pre: 'non-empty-string',
    'pre-if': 'non-empty-string',
    post: 'non-empty-string',
    'post-if': 'non-empty-string',
  } as const;
  errs.push(...checkStrict('runs (node-runs)', runs, nodeRuns));
  // ActionManifestManager.cs ConvertRuns: node12/16/20/24 need `main`.
  if (isObj(runs)) {
    if (!['node12', 'node16', 'node20', 'node24'].includes(String(runs.using).toLowerCase()))
      errs.push(`runs.using: "${String(runs.using)}" is not a node runtime`);
    if (!runs.main) errs.push('runs.main: a JavaScript action needs an entry file');
  }
  return errs;
}

test('action.yml is a node24 action the runner accepts, with no install step, declaring every output written', () => {
  const doc = readYaml(readFileSync('action.yml', 'utf8'));
  assert.deepEqual(validateActionYaml(doc), []);
  const runs = doc.runs as Record<string, string>;
  assert.equal(runs.using, 'node24');
  assert.equal(runs.main, BUNDLE);
  assert.ok(existsSync(runs.main));
  assert.ok(!('steps' in runs), 'no composite steps: nothing installed, no cache to key');
  const declared = Object.keys(doc.outputs as object).sort();
  const written = Object.keys(outputsOf({ response: null, policy: standardPolicy() })).sort();
  assert.deepEqual(declared, written);
  // The validator itself rejects what the runner rejects.
  assert.notDeepEqual(validateActionYaml({ ...doc, runs: { using: 'node24' } }), []);
  assert.notDeepEqual(validateActionYaml({ ...doc, runs: { ...runs, steps: 'x' } }), []);
  assert.notDeepEqual(validateActionYaml({ ...doc, outputs: { a: { description: 'x', valu: 'y' } } }), []);
  // Every input the bundle reads is declared.
  const inputs = Object.keys(doc.inputs as object);
  const src = readFileSync('src/ci/action-main.ts', 'utf8');
  const read = [...src.matchAll(/input\(env, '([a-z-]+)'\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(read)].sort(), [...inputs].sort());
});

function runBundle(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    // Only what a runner sets: no NODE_OPTIONS, no tsx, no node_modules anywhere near.
    const child = spawn(process.execPath, [file, ...args], { cwd, env: { PATH: process.env.PATH, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('close', (code) => done({ code, out, err }));
  });
}

function runnerFiles(dir: string) {
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const read = (f: string) => Object.fromEntries(runnerParseFileCommand(readFileSync(f, 'utf8')));
  return {
    files,
    output: () => read(files.GITHUB_OUTPUT),
    env: () => read(files.GITHUB_ENV),
    summary: () => readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

const KEY = 'action-key-0123456789abcdef';

test(
  'the bundle alone in an empty folder runs as the action: inputs in, outputs/env/summary out, then the outcome',
  { timeout: 60_000 },
  async () => {
    const s = await serveApp({ scorer: fixedScorer(0.8), env: { RISKGATE_API_KEYS: `ci:score+report:${KEY}` } });
    const dir = mkdtempSync(join(tmpdir(), 'rg-bundle-'));
    try {
      copyFileSync(BUNDLE, join(dir, 'index.cjs'));
      const f = runnerFiles(dir);
      const github = {
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'acme/web',
        GITHUB_SHA: 'c'.repeat(40),
        GITHUB_REF_NAME: 'main',
        GITHUB_EVENT_NAME: 'push',
        GITHUB_ACTOR: 'dev1',
        GITHUB_WORKFLOW: 'ci',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_WORKSPACE: dir,
      };
      // The runner sets every declared input, defaults included, as INPUT_<NAME> (hyphens kept).
      const inputs = {
        INPUT_URL: s.url,
        'INPUT_API-KEY': KEY,
        INPUT_TIMEOUT: '5',
        'INPUT_FAIL-CLOSED': 'false',
        'INPUT_SERVICE-HEALTH': 'npm-registry=0.6\n  gha-cache=0.4  \n',
        INPUT_BASE: '',
        INPUT_ARGS: '--no-diff',
        'INPUT_REPORT-OUTCOME': '',
      };
      const r = await runBundle(join(dir, 'index.cjs'), [], { ...github, ...inputs, ...f.files }, dir);
      assert.equal(r.code, 0, r.err);
      const o = f.output();
      assert.equal(o.risk_level, 'high');
      assert.equal(o.fail_open, 'false');
      assert.ok(o.mitigations.includes('use_alternative_cache'), 'service-health lines reached the server');
      assert.equal(o.mitigation_reasons.split('\n').length, o.mitigations.split(',').length);
      const e = f.env();
      assert.equal(e.EXTRA_RETRIES, 'true');
      assert.match(e.RISKGATE_STARTED_AT, /^\d{4}-\d\d-\d\dT/);
      assert.match(f.summary(), /\*\*Risk: high\*\*/);

      // A later step of the same job: `with: { report-outcome: ${{ job.status }} }`; $GITHUB_ENV is in its environment.
      const report = await runBundle(
        join(dir, 'index.cjs'),
        [],
        { ...github, ...inputs, ...e, 'INPUT_REPORT-OUTCOME': 'failure' },
        dir,
      );
      assert.equal(report.code, 0, report.err);
      const stored = s.store.getRun('acme/web', 'ci', '42', 1);
      assert.equal(stored?.conclusion, 'failure');
      assert.equal(stored?.run_started_at, e.RISKGATE_STARTED_AT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await s.close();
    }
  },
);

test(
  'the bundle fails open on a silent server within the timeout, and fails closed when asked',
  { timeout: 60_000 },
  async () => {
    const pending = new Set<() => void>();
    const slow: Server = createServer((_req, res) => {
      const t = setTimeout(() => res.end('{}'), 10_000);
      pending.add(() => clearTimeout(t));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'rg-bundle-'));
    try {
      copyFileSync(BUNDLE, join(dir, 'index.cjs'));
      const f = runnerFiles(dir);
      const base = {
        GITHUB_REPOSITORY: 'acme/web',
        INPUT_URL: url,
        INPUT_TIMEOUT: '0.5',
        INPUT_ARGS: '--no-diff',
        ...f.files,
      };
      const open = await runBundle(join(dir, 'index.cjs'), [], base, dir);
      assert.equal(open.code, 0);
      const warning = runnerCommands(open.err);
      assert.equal(warning.length, 1);
      assert.equal(warning[0].command, 'warning');
      assert.match(warning[0].data, /within 500 ms.*fail-open/);
      assert.equal(f.output().fail_open, 'true');
      assert.equal(f.output().strategy, 'standard');
      const closed = await runBundle(join(dir, 'index.cjs'), [], { ...base, 'INPUT_FAIL-CLOSED': 'true' }, dir);
      assert.equal(closed.code, 1);
      assert.equal(runnerCommands(closed.err)[0].command, 'error');
      // --local needs the package, and says so.
      const local = await runBundle(
        join(dir, 'index.cjs'),
        ['check', '--local', '--repo', 'a/b', '--no-diff'],
        {},
        dir,
      );
      assert.equal(local.code, 2);
      assert.match(local.err, /--local is not in the CI bundle/);
    } finally {
      for (const cancel of pending) cancel();
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
