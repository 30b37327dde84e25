/**
 * `npm run bench -- action` (issue 22): what the pre-build check costs a CI job, start to exit. The CI client
 * bundle (action/dist/index.cjs) is copied alone into an empty folder and run with only Node — no
 * node_modules, no tsx — as `check` against a local Riskgate server (the real app, rule-based scorer since no
 * model is trained). Measured in the same run, interleaved so load on the machine hits all alike:
 * - `curl` POSTing the same request body to the same server (what a hand-written shell step costs), and
 * - `node -e ''` (the Node start-up any Node client pays).
 * Bar: median of 20 ≤ 0.3 s, and ≤ 1.5 × (median curl + median node -e '').
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

const RUNS = Number(process.env.BENCH_ACTION_RUNS ?? 20);

function timed(cmd: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(0, 300)}`));
      else resolve(ms);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;

export async function run(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-action-'));
  const empty = join(dir, 'empty');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(empty);
  copyFileSync('action/dist/index.cjs', join(empty, 'index.cjs'));
  const { loadConfig } = await import('../src/config.ts');
  const { startServer } = await import('../src/commands/serve.ts');
  const { collectContext } = await import('../src/ci/context.ts');
  const config = loadConfig({
    PORT: '0',
    RISKGATE_DATA_DIR: join(dir, 'data'),
    RISKGATE_MODELS_DIR: join(dir, 'models'),
    RISKGATE_RATE_LIMIT: '100000000',
    RISKGATE_RATE_BURST: '1000000',
  });
  const running = await startServer(config, { bootstrap: false, logger: pino({ level: 'silent' }) });
  await running.loaded;
  try {
    const flags = [
      '--repo',
      'acme/web',
      '--sha',
      'a'.repeat(40),
      '--branch',
      'main',
      '--event',
      'push',
      '--actor',
      'dev1',
      '--no-diff',
      '--files-changed',
      '3',
      '--additions',
      '120',
      '--deletions',
      '30',
    ];
    const bundleArgs = [join(empty, 'index.cjs'), 'check', '--url', running.url, ...flags];
    // The very request body the bundle sends (same collectContext), for curl.
    const { request } = collectContext(
      {
        repo: 'acme/web',
        sha: 'a'.repeat(40),
        branch: 'main',
        event: 'push',
        actor: 'dev1',
        diff: false,
        filesChanged: 3,
        additions: 120,
        deletions: 30,
      },
      {},
    );
    const curlArgs = [
      '-sS',
      '-o',
      '/dev/null',
      '-f',
      '-X',
      'POST',
      `${running.url}/v1/risk`,
      '-H',
      'content-type: application/json',
      '-H',
      'accept: application/json',
      '--data-binary',
      JSON.stringify(request),
    ];
    // One warm-up of each (page cache, the server's first request).
    await timed(process.execPath, bundleArgs, empty);
    await timed('curl', curlArgs, empty);
    await timed(process.execPath, ['-e', ''], empty);
    const t = { bundle: [] as number[], curl: [] as number[], node: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      t.node.push(await timed(process.execPath, ['-e', ''], empty));
      t.curl.push(await timed('curl', curlArgs, empty));
      t.bundle.push(await timed(process.execPath, bundleArgs, empty));
    }
    const m = { bundle: median(t.bundle), curl: median(t.curl), node: median(t.node) };
    const ratio = m.bundle / (m.curl + m.node);
    // CPU time (user + sys) per run from GNU time over a loop of RUNS: on a shared machine wall time mostly
    // measures the scheduler (each wait for the server is a chance to lose the CPU); CPU time is the client's own cost.
    const cpu = async (cmd: string[]): Promise<number | null> => {
      const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const out = join(dir, 'time.out');
      try {
        await timed(
          '/usr/bin/time',
          ['-f', '%U %S', '-o', out, 'bash', '-c', `for i in $(seq ${RUNS}); do ${quoted} >/dev/null 2>&1; done`],
          empty,
        );
      } catch {
        return null; // no GNU time here
      }
      const [u, sys] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      return round(((u + sys) * 1000) / RUNS);
    };
    const cpuMs = {
      bundle_check: await cpu([process.execPath, ...bundleArgs]),
      curl: await cpu(['curl', ...curlArgs]),
      node_e_empty: await cpu([process.execPath, '-e', '']),
    };
    return {
      runs: RUNS,
      node: process.version,
      bundle_kib: Math.round((await import('node:fs')).statSync('action/dist/index.cjs').size / 1024),
      median_ms: { bundle_check: round(m.bundle), curl: round(m.curl), node_e_empty: round(m.node) },
      p90_ms: { bundle_check: round([...t.bundle].sort((a, b) => a - b)[Math.floor(RUNS * 0.9) - 1] ?? NaN) },
      ratio_to_curl_plus_node: Math.round(ratio * 100) / 100,
      cpu_ms_per_run: cpuMs,
      cpu_ratio_to_curl_plus_node:
        cpuMs.bundle_check && cpuMs.curl !== null && cpuMs.node_e_empty
          ? Math.round((cpuMs.bundle_check / (cpuMs.curl + cpuMs.node_e_empty)) * 100) / 100
          : null,
      load_average: (await import('node:os')).loadavg().map((x) => Math.round(x * 10) / 10),
      bar: { median_le_300ms: m.bundle <= 300, ratio_le_1_5: ratio <= 1.5 },
    };
  } finally {
    await running.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
