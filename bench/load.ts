/**
 * Sustained-load benchmark (`npm run bench:load`): the real `riskgate serve` (startServer through the CLI's
 * run(), a GBDT champion trained by the same bootstrap as a fresh clone, SQLite in a temporary folder) under a
 * mix of POST /v1/risk (70 %), /v1/outcomes (20 %, each a new run record, so every one writes) and
 * /v1/canary/decision (10 %), driven by autocannon from this process.
 *
 *   1. max throughput: a short saturating run with RISKGATE_WORKERS=1, then =2 (the cluster gain), for the mix
 *      and for /v1/risk alone;
 *   2. WAL: --wal-connections (16) connections posting large canary decisions (32 KB of samples each) for
 *      --wal-seconds (30) with RISKGATE_WAL_LIMIT_MB=--wal-limit-mb (8), then idle: the store's WAL file
 *      size, largest (sampled every 100 ms), when the writers stop, and once the checkpointer has emptied it
 *      (issue 16.4: it reached 868 MB and stayed);
 *   3. steady: one worker at 70 % of its maximum (autocannon overallRate) for --duration seconds, with the
 *      server's heap read (after a forced GC, over the bench's IPC channel) before and after.
 *
 * PASS when the steady phase holds its rate (at least 95 % of the target served), has no errors (non-2xx,
 * socket errors, timeouts), the heap after is within 10 % of the heap before, and the WAL phase stays within
 * twice its limit and ends at 0 bytes idle. Rate limits are raised out of the way (RISKGATE_RATE_LIMIT/BURST = 1e9): this
 * measures the service, not the limiter. Request logs go to /dev/null.
 *
 * Run: npm run bench:load [-- --duration 600 --max-seconds 10 --connections 32 --wal-seconds 30 --wal-connections 16 --wal-limit-mb 8 --server-log FILE --heap-snapshots DIR]
 */
import { fork, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { cpSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/ml/random.ts';
import { freePort } from '../test/support/net.ts';

// ---------- the server child: `riskgate serve` plus a heap probe on the bench's IPC channel ----------

interface HeapMessage {
  type: 'heap';
  heapUsed: number;
  rss: number;
}

async function childMain(): Promise<void> {
  const { writeHeapSnapshot } = await import('node:v8');
  process.on('message', (m: unknown) => {
    const msg = m as { type?: string; snapshot?: string } | null;
    if (msg?.type !== 'heap') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    // Two passes: the first can leave objects only a second (after finalizers) frees.
    gc?.();
    gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    // --heap-snapshots: what grew, for anyone chasing a heap change (compare in Chrome DevTools' Memory tab).
    if (msg.snapshot) writeHeapSnapshot(msg.snapshot);
    process.send?.({ type: 'heap', heapUsed, rss } satisfies HeapMessage);
  });
  const { run } = await import('../src/commands/serve.ts');
  process.exitCode = await run(['--no-bootstrap']);
  // The bench's IPC channel would keep the process alive after the server stopped (a cluster worker's is closed by run()).
  if (process.connected && !cluster.isWorker) process.disconnect();
}

// ---------- request mix ----------

const REPOS = ['acme/web', 'acme/api', 'acme/mobile'];
const PATHS = [
  'src/app.ts',
  'src/server/routes.ts',
  'src/server/routes.test.ts',
  'package-lock.json',
  'package.json',
  '.github/workflows/ci.yml',
  'docs/readme.md',
  'src/db/migrate.sql',
  'Dockerfile',
  'src/ui/button.tsx',
  'test/e2e/login.spec.ts',
];

type MixName = 'mixed' | 'risk-only' | 'canary-writers';

export function makeMix(seed: number, mix: MixName = 'mixed') {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  // A bounded pool of commits, so the canary's risk look-ups hit and the server's per-commit memory stays bounded.
  const shas = Array.from({ length: 2000 }, (_, i) => (i * 2654435761 + seed).toString(16).padStart(12, '0'));
  const tag = `${seed}-${Date.now().toString(36)}`;
  let outcomes = 0;
  const looks = new Map<string, number>();
  const commit = () => {
    const files = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => pick(PATHS));
    return {
      repo: pick(REPOS),
      head_sha: pick(shas),
      head_branch: rnd() < 0.6 ? 'main' : `feature/f${Math.floor(rnd() * 50)}`,
      event: rnd() < 0.6 ? 'push' : 'pull_request',
      actor: `dev-${Math.floor(rnd() * 12)}`,
      workflow: 'ci',
      files: [...new Set(files)],
      additions: Math.floor(rnd() * 400),
      deletions: Math.floor(rnd() * 120),
    };
  };
  const samples = (n: number, mean: number, sd: number) =>
    Array.from({ length: n }, () => +(mean + sd * (rnd() + rnd() + rnd() - 1.5)).toFixed(3));
  const risk = () =>
    JSON.stringify({
      ...commit(),
      ...(rnd() < 0.3 ? { service_health: { 'npm-registry': +(0.7 + 0.3 * rnd()).toFixed(2) } } : {}),
    });
  const outcome = () => {
    const now = Date.now();
    return JSON.stringify({
      ...commit(),
      run_id: `load-${tag}-${outcomes++}`,
      run_attempt: 1,
      created_at: new Date(now - 10 * 60_000).toISOString(),
      run_started_at: new Date(now - 9 * 60_000).toISOString(),
      completed_at: new Date(now - 60_000).toISOString(),
      conclusion: rnd() < 0.85 ? 'success' : 'failure',
    });
  };
  const canary = () => {
    const service = `svc-${Math.floor(rnd() * 20)}`;
    const n = looks.get(service) ?? 0;
    looks.set(service, n + 1);
    const c = commit();
    // A rollout gets about ten looks, then the next version starts: rollout state stays the size it is in production.
    return JSON.stringify({
      deployment: { service, version: `v${Math.floor(n / 10)}`, repo: c.repo, head_sha: c.head_sha },
      current_weight: [5, 10, 25, 50][n % 4],
      elapsed_s: 120 + Math.floor(rnd() * 600),
      metrics: [
        {
          name: 'latency_p99_ms',
          direction: 'increase',
          baseline: samples(40, 120, 15),
          canary: samples(40, rnd() < 0.2 ? 150 : 121, 15),
        },
        {
          name: 'error_rate',
          direction: 'increase',
          critical: true,
          baseline: samples(40, 0.01, 0.004),
          canary: samples(40, 0.011, 0.004),
        },
      ],
    });
  };
  const post = (path: string, body: () => string) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }),
  });
  const R = post('/v1/risk', risk);
  const O = post('/v1/outcomes', outcome);
  const C = post('/v1/canary/decision', canary);
  // Issue 16.4's attack: canary decisions only, each storing 2 × 2 × 1,000 samples (32 KB as float64), from
  // every connection at once; it grew the WAL to 868 MB in 30 s before the checkpointer bounded it.
  const heavy = () => {
    const service = `wal-${Math.floor(rnd() * 200)}`;
    const n = looks.get(service) ?? 0;
    looks.set(service, n + 1);
    return JSON.stringify({
      deployment: { service, version: `v${Math.floor(n / 10)}` },
      current_weight: [5, 10, 25, 50][n % 4],
      elapsed_s: 300,
      metrics: [
        {
          name: 'latency_p99_ms',
          direction: 'increase',
          baseline: samples(1000, 120, 15),
          canary: samples(1000, 121, 15),
        },
        {
          name: 'error_rate',
          direction: 'increase',
          baseline: samples(1000, 0.01, 0.004),
          canary: samples(1000, 0.011, 0.004),
        },
      ],
    });
  };
  if (mix === 'canary-writers') return [post('/v1/canary/decision', heavy)];
  // Each connection cycles through this sequence: 7 risk, 2 outcomes, 1 canary decision.
  return mix === 'mixed' ? [R, R, O, R, C, R, R, O, R, R] : [R];
}

// ---------- autocannon (no bundled types) ----------

interface Percentiles {
  average: number;
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
}
interface CannonResult {
  duration: number;
  latency: Percentiles;
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, r: CannonResult) => void,
) => { on(event: string, f: (...args: never[]) => void): unknown };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** One autocannon run; also how much of a core the generator itself used (it shares the machine with the server). */
export function load(
  url: string,
  opts: { connections: number; seconds: number; overallRate?: number; seed: number; mix?: MixName },
): Promise<CannonResult & { generator_cores: number; per_minute_rps: number[] }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Responses per minute (autocannon ticks once a second): a server that slows as its store grows shows here.
  const perMinute: number[] = [];
  let ticks = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: opts.connections,
        duration: opts.seconds,
        overallRate: opts.overallRate,
        requests: makeMix(opts.seed, opts.mix),
        timeout: 10,
      },
      (err, r) => {
        if (err) return reject(err);
        const cpu = process.cpuUsage(cpu0);
        const whole = perMinute.length - (ticks % 60 === 0 ? 0 : 1); // a last partial minute is left out
        resolve({
          ...r,
          generator_cores: +((cpu.user + cpu.system) / 1000 / (performance.now() - t0)).toFixed(2),
          per_minute_rps: perMinute.slice(0, Math.max(whole, 0)).map((n) => +(n / 60).toFixed(1)),
        });
      },
    ) as { on(event: 'tick', f: (t: { counter: number }) => void): void };
    instance.on('tick', ({ counter }) => {
      if (ticks++ % 60 === 0) perMinute.push(0);
      perMinute[perMinute.length - 1] += counter;
    });
  });
}

interface Phase {
  workers: number;
  generator_cores: number;
  seconds: number;
  target_rps: number | null;
  rps: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  p99_9_ms: number;
  max_ms: number;
  errors: number;
  error_detail: { non2xx: number; socket_errors: number; timeouts: number; status: Record<string, number> };
  /** Responses per second in each whole minute. */
  per_minute_rps: number[];
  /** The store's WAL file during the phase (largest, sampled every 100 ms) and when the load stopped. */
  wal?: { max_mib: number; end_mib: number };
}

function summarise(
  r: CannonResult & { generator_cores: number; per_minute_rps: number[] },
  workers: number,
  target: number | null,
): Phase {
  const status = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  return {
    workers,
    generator_cores: r.generator_cores,
    seconds: r.duration,
    target_rps: target,
    rps: +(r.requests.total / r.duration).toFixed(1),
    requests: r.requests.total,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    p99_9_ms: r.latency.p99_9,
    max_ms: r.latency.max,
    errors: r.non2xx + r.errors + r.timeouts,
    error_detail: { non2xx: r.non2xx, socket_errors: r.errors, timeouts: r.timeouts, status },
    per_minute_rps: r.per_minute_rps,
  };
}

// ---------- servers ----------

/** GET on a fresh connection (so a cluster can route it to any worker): status and serving worker. */
function probe(port: number, path: string): Promise<{ status: number; worker: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-riskgate-worker'] ?? 'single') }),
      );
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve({ status: 0, worker: '' }));
    req.end();
  });
}

interface Server {
  url: string;
  child: ChildProcess;
  /** The store's WAL file: its largest size since `resetWal` (sampled every 100 ms) and its size now. */
  wal(): { max: number; now: number };
  resetWal(): void;
  heap(snapshot?: string): Promise<{ heapUsed: number; rss: number }>;
  stop(): Promise<number | null>;
}

export async function startServer(
  template: string,
  workers: number,
  logFd: number | 'ignore',
  env: Record<string, string> = {},
): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `rg-load-w${workers}-`));
  // Every server starts from the same store and model, untouched by earlier phases' writes.
  cpSync(template, dir, { recursive: true });
  const port = await freePort();
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    // BENCH_LOAD_PROFILE=DIR writes the server's CPU profile there when it stops (inspect with Chrome DevTools).
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      ...(process.env.BENCH_LOAD_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_LOAD_PROFILE}`] : []),
    ],
    env: {
      ...process.env,
      PORT: String(port),
      RISKGATE_WORKERS: String(workers),
      RISKGATE_DATA_DIR: join(dir, 'data'),
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_RATE_LIMIT: '1000000000',
      RISKGATE_RATE_BURST: '1000000000',
      RISKGATE_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', logFd, 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`server not ready within 60 s: ${stderr}`);
    const seen = new Set<string>();
    for (let i = 0; i < 4 * workers; i++) {
      const r = await probe(port, '/ready');
      if (r.status === 200) seen.add(r.worker);
    }
    if (seen.size >= workers) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const walFile = join(dir, 'data', 'riskgate.db-wal');
  const walNow = () => {
    try {
      return statSync(walFile).size;
    } catch {
      return 0;
    }
  };
  let walMax = walNow();
  const sampler = setInterval(() => (walMax = Math.max(walMax, walNow())), 100);
  sampler.unref();
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    wal: () => {
      const now = walNow();
      walMax = Math.max(walMax, now);
      return { max: walMax, now };
    },
    resetWal: () => void (walMax = walNow()),
    heap: (snapshot?: string) =>
      new Promise((resolve) => {
        const on = (m: unknown) => {
          if ((m as HeapMessage).type !== 'heap') return;
          child.off('message', on);
          resolve(m as HeapMessage);
        };
        child.on('message', on);
        child.send({ type: 'heap', snapshot });
      }),
    stop: async () => {
      clearInterval(sampler);
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0)
        console.error(`load: server (${workers} worker${workers > 1 ? 's' : ''}) exited ${code}:\n${stderr}`);
      return code;
    },
  };
}

export async function prepareTemplate(dir: string): Promise<{ model: string }> {
  const { openStore } = await import('../src/store/sqlite.ts');
  const { ensureChampion } = await import('../training/bootstrap.ts');
  const { Registry } = await import('../src/registry/registry.ts');
  const store = openStore(join(dir, 'data', 'riskgate.db'));
  try {
    // The same first model a fresh clone serves: the sample history and a GBDT champion.
    await ensureChampion({ store, modelsDir: join(dir, 'models') });
  } finally {
    store.close();
  }
  return { model: new Registry(join(dir, 'models')).championId() ?? 'none' };
}

// ---------- main ----------

const MiB = (b: number) => +(b / 1048576).toFixed(1);
const walReport = (w: { max: number; now: number }) => ({ max_mib: MiB(w.max), end_mib: MiB(w.now) });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '600' },
      'max-seconds': { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      'server-log': { type: 'string' },
      'heap-snapshots': { type: 'string' },
      'wal-seconds': { type: 'string', default: '30' },
      'wal-connections': { type: 'string', default: '16' },
      'wal-limit-mb': { type: 'string', default: '8' },
    },
  });
  // The servers' JSON logs (one line per request) go to /dev/null unless asked for, e.g. to find the cause of errors.
  const logFd = values['server-log'] ? openSync(values['server-log'], 'a') : 'ignore';
  const duration = Number(values.duration);
  const maxSeconds = Number(values['max-seconds']);
  const connections = Number(values.connections);
  const walSeconds = Number(values['wal-seconds']);
  const walConnections = Number(values['wal-connections']);
  const walLimitMib = Number(values['wal-limit-mb']);
  for (const [k, v] of Object.entries({
    duration,
    'max-seconds': maxSeconds,
    connections,
    'wal-seconds': walSeconds,
    'wal-connections': walConnections,
    'wal-limit-mb': walLimitMib,
  })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  }
  // Long enough for the bounded caches (histories, per-commit memory) to reach their size before "heap before".
  const warmSeconds = Math.min(60, Math.max(5, Math.round(duration / 10)));
  const log = (m: string) => console.error(`load: ${m}`);

  const template = mkdtempSync(join(tmpdir(), 'rg-load-template-'));
  try {
    const { model } = await prepareTemplate(template);
    log(
      `model ${model}; mix 70 % /v1/risk, 20 % /v1/outcomes (new runs), 10 % /v1/canary/decision; ${connections} connections; rate limit raised to 1e9/min`,
    );

    const max: Record<Exclude<MixName, 'canary-writers'>, Record<number, Phase>> = { mixed: {}, 'risk-only': {} };
    const stops: Record<string, number | null> = {};
    // The risk-only runs separate what a second worker adds from what the mix's writes cost (they invalidate history caches).
    for (const mix of ['mixed', 'risk-only'] as const) {
      for (const workers of [1, 2]) {
        const s = await startServer(template, workers, logFd);
        await load(s.url, { connections, seconds: 3, seed: 1, mix }); // warm-up: JIT, history caches
        s.resetWal();
        const m = (max[mix][workers] = summarise(
          await load(s.url, { connections, seconds: maxSeconds, seed: 2, mix }),
          workers,
          null,
        ));
        m.wal = walReport(s.wal());
        stops[`max_${mix}_w${workers}`] = await s.stop();
        log(
          `max, ${mix}, ${workers} worker${workers > 1 ? 's' : ''}: ${m.rps} req/s, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms, p99.9 ${m.p99_9_ms} ms, errors ${m.errors}, generator ${m.generator_cores} cores`,
        );
      }
    }
    // Issue 16.4: every connection writing large canary decisions at once, then a pause. The WAL must stay
    // near the checkpointer's limit while they write and be emptied (TRUNCATE) once they stop.
    // --wal-limit-mb (8) lowers RISKGATE_WAL_LIMIT_MB (64) so 30 s of writers on a small machine cross it.
    const ws = await startServer(template, 1, logFd, { RISKGATE_WAL_LIMIT_MB: String(walLimitMib) });
    ws.resetWal();
    const walPhase = summarise(
      await load(ws.url, { connections: walConnections, seconds: walSeconds, seed: 5, mix: 'canary-writers' }),
      1,
      null,
    );
    walPhase.wal = walReport(ws.wal());
    // Idle: the checkpointer truncates after 1 s without a commit; wait for it (bounded), reading the file.
    const idleDeadline = Date.now() + 10_000;
    while (ws.wal().now > 0 && Date.now() < idleDeadline) await new Promise((r) => setTimeout(r, 100));
    const walIdleMib = MiB(ws.wal().now);
    const walIdleS = +((10_000 - Math.max(0, idleDeadline - Date.now())) / 1000).toFixed(1);
    stops.wal = await ws.stop();
    log(
      `wal, ${walConnections} canary writers for ${walSeconds} s: ${walPhase.rps} req/s, WAL max ${walPhase.wal.max_mib} MiB, at end ${walPhase.wal.end_mib} MiB, ${walIdleMib} MiB ${walIdleS} s after (errors ${walPhase.errors})`,
    );

    const gain = (mix: Exclude<MixName, 'canary-writers'>) => +(max[mix][2].rps / max[mix][1].rps).toFixed(2);
    log(`cluster gain (2 workers / 1): mixed ${gain('mixed')}×, risk-only ${gain('risk-only')}×`);

    const rate = Math.max(1, Math.round(0.7 * max.mixed[1].rps));
    const s = await startServer(template, 1, logFd);
    log(`steady: 1 worker at ${rate} req/s (70 % of its max), ${warmSeconds} s warm-up then ${duration} s`);
    await load(s.url, { connections, seconds: warmSeconds, overallRate: rate, seed: 3 });
    const snap = (name: string) =>
      values['heap-snapshots'] ? join(values['heap-snapshots'], `${name}.heapsnapshot`) : undefined;
    const before = await s.heap(snap('before'));
    // Heap at the half-way mark too, so a cache filling to its bound can be told apart from a leak.
    const steadyRun = load(s.url, { connections, seconds: duration, overallRate: rate, seed: 4 });
    const mid = await new Promise<{ heapUsed: number; rss: number }>((resolve) =>
      setTimeout(() => resolve(s.heap(snap('mid'))), (duration * 1000) / 2),
    );
    const steady = summarise(await steadyRun, 1, rate);
    steady.wal = walReport(s.wal());
    const after = await s.heap(snap('after'));
    stops.steady = await s.stop();

    const heapChange = (after.heapUsed - before.heapUsed) / before.heapUsed;
    const checks = {
      // The bars apply to the steady phase; errors at saturation are reported (max_throughput.*.errors), not judged.
      holds_rate: steady.rps >= 0.95 * rate,
      zero_errors: steady.errors === 0,
      heap_within_10pct: Math.abs(heapChange) <= 0.1,
      clean_shutdown: Object.values(stops).every((c) => c === 0),
      // The limit plus what writers add between two checks and before commits checkpoint themselves.
      wal_bounded: walPhase.wal.max_mib <= 2 * walLimitMib && walIdleMib === 0,
    };
    const pass = Object.values(checks).every(Boolean);
    const report = {
      model,
      connections,
      rate_limit: 'RISKGATE_RATE_LIMIT=RISKGATE_RATE_BURST=1e9 (out of the way)',
      max_throughput: {
        mixed: { one_worker: max.mixed[1], two_workers: max.mixed[2], gain_2_over_1: gain('mixed') },
        risk_only: {
          one_worker: max['risk-only'][1],
          two_workers: max['risk-only'][2],
          gain_2_over_1: gain('risk-only'),
        },
      },
      steady,
      wal_writers: {
        ...walPhase,
        connections: walConnections,
        idle_mib: walIdleMib,
        idle_after_s: walIdleS,
        wal_limit_mib: walLimitMib,
        bar: `max ≤ ${2 * walLimitMib} MiB, 0 when idle`,
      },
      heap: {
        before_mib: MiB(before.heapUsed),
        mid_mib: MiB(mid.heapUsed),
        after_mib: MiB(after.heapUsed),
        change_pct: +(100 * heapChange).toFixed(1),
        rss_before_mib: MiB(before.rss),
        rss_after_mib: MiB(after.rss),
      },
      server_exit_codes: stops,
      checks,
      result: pass ? 'PASS' : 'FAIL',
    };
    console.log(JSON.stringify(report, null, 2));
    console.error(
      [
        '',
        `max throughput   mixed: 1 worker ${max.mixed[1].rps} req/s, 2 workers ${max.mixed[2].rps} req/s (×${gain('mixed')}, errors ${max.mixed[1].errors} / ${max.mixed[2].errors})`,
        `                 risk-only: 1 worker ${max['risk-only'][1].rps} req/s, 2 workers ${max['risk-only'][2].rps} req/s (×${gain('risk-only')})`,
        `steady ${duration} s    ${steady.rps} req/s of ${rate} target; p50 ${steady.p50_ms} ms, p99 ${steady.p99_ms} ms, p99.9 ${steady.p99_9_ms} ms, max ${steady.max_ms} ms  ${checks.holds_rate ? 'PASS' : 'FAIL'}`,
        ...(steady.per_minute_rps.length ? [`  per minute     ${steady.per_minute_rps.join(' ')} req/s`] : []),
        `errors           ${steady.errors} (non-2xx ${steady.error_detail.non2xx}, socket ${steady.error_detail.socket_errors}, timeouts ${steady.error_detail.timeouts})  ${checks.zero_errors ? 'PASS' : 'FAIL'}`,
        `heap after GC    ${report.heap.before_mib} MiB → ${report.heap.mid_mib} MiB (half-way) → ${report.heap.after_mib} MiB (${report.heap.change_pct >= 0 ? '+' : ''}${report.heap.change_pct} %, bar ±10 %)  ${checks.heap_within_10pct ? 'PASS' : 'FAIL'}`,
        `WAL              ${walConnections} canary writers ${walSeconds} s: max ${walPhase.wal.max_mib} MiB (limit ${walLimitMib}, bar ≤ ${2 * walLimitMib}), end ${walPhase.wal.end_mib} MiB, idle ${walIdleMib} MiB after ${walIdleS} s; steady max ${steady.wal.max_mib} MiB  ${checks.wal_bounded ? 'PASS' : 'FAIL'}`,
        `shutdown         exit codes ${JSON.stringify(stops)}  ${checks.clean_shutdown ? 'PASS' : 'FAIL'}`,
        `RESULT           ${report.result}`,
      ].join('\n'),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) await childMain();
else if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--replicas')) {
  // Replicas over PostgreSQL: its own process (load-replicas.ts imports this module, which is still evaluating here).
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./load-replicas.ts', import.meta.url)), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exitCode = r.status ?? 1;
} else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
