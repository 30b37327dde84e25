/**
 * API benchmark: POST /v1/risk served by the real stack (auth, rate limit, validation, metrics, logging,
 * 150-tree GBDT champion loaded through the registry, history features from SQLite) against a bare Express
 * JSON route on the same machine, driven by the same load generator (wrk when installed, otherwise an
 * in-process keep-alive client). Also times a single in-process score. Two diagnostics beside the bars: the same
 * server with a constant scorer (what the HTTP stack costs), and a bare route answering with /v1/risk's own
 * headers and body (what sending that response costs, whoever computes it).
 *
 * Run: node --import tsx bench/api.ts     (env BENCH_API_SECONDS, BENCH_API_CONNECTIONS to resize)
 * Bars: throughput ≥ 0.7× bare, p99 ≤ 2× bare, single score < 0.2 ms.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_API_CONNECTIONS ?? 32);
const BODY = JSON.stringify({
  repo: 'sample/app',
  head_branch: 'main',
  event: 'push',
  actor: 'dev-3',
  workflow: 'ci',
  files: ['src/server/routes.ts', 'src/server/routes.test.ts', 'package-lock.json'],
  additions: 120,
  deletions: 14,
  service_health: { 'npm-registry': 0.95, 'actions-cache': 0.9 },
});

// ---------- child: one server per process, so the measured server has a core to itself ----------

async function childMain(kind: string, dir: string): Promise<void> {
  // exit() rather than the default signal death, so a --cpu-prof profile is written
  process.once('SIGTERM', () => process.exit(0));
  const { pino } = await import('pino');
  const express = (await import('express')).default;
  let port: number;
  if (kind === 'bare' || kind === 'echo') {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    if (kind === 'bare') {
      app.post('/v1/risk', (req, res) => {
        res.json({ ok: true, repo: (req.body as { repo?: string }).repo ?? null });
      });
    } else {
      // 'echo': a bare route answering with the headers and body /v1/risk answered (captured by the parent): what
      // the response alone costs the HTTP stack, whatever computes it.
      const captured = JSON.parse(readFileSync(join(dir, 'risk-response.json'), 'utf8')) as {
        headers: Record<string, string>;
        body: string;
      };
      app.post('/v1/risk', (req, res) => {
        if ((req.body as { repo?: string }).repo === undefined) return res.status(400).end();
        for (const [k, v] of Object.entries(captured.headers)) res.setHeader(k, v);
        res.json(JSON.parse(captured.body));
      });
    }
    port = await new Promise<number>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
    });
  } else {
    const { loadConfig } = await import('../src/config.ts');
    const { startServer } = await import('../src/commands/serve.ts');
    const config = loadConfig({
      PORT: '0',
      RISKGATE_DATA_DIR: join(dir, 'data'),
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_RATE_LIMIT: '100000000',
      RISKGATE_RATE_BURST: '1000000',
    });
    // Production logging (one JSON line per request), written asynchronously to /dev/null instead of a collector.
    const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
    // 'stack' isolates the HTTP stack: same server, a scorer that answers instantly instead of the model.
    const scorer =
      kind === 'stack'
        ? {
            score: async () => ({
              probability: 0.42,
              model: { id: 'constant', version: '1', kind: 'constant' },
              degraded: false,
              factors: [{ feature: 'fail_rate_20', value: 0.3, contribution: 0.5 }],
            }),
            ready: () => true,
            info: () => ({ id: 'constant', version: '1', kind: 'constant', loaded_at: new Date().toISOString() }),
          }
        : undefined;
    const running = await startServer(config, { bootstrap: false, logger, scorer });
    await running.loaded;
    const info = running.scorer.info();
    process.stderr.write(`model ${JSON.stringify(info)}\n`);
    port = Number(new URL(running.url).port);
  }
  process.stdout.write(`PORT ${port}\n`);
}

// ---------- parent ----------

async function prepare(dir: string): Promise<{ trees: number; runs: number; scorerKind: string }> {
  const { openStore } = await import('../src/store/sqlite.ts');
  const { simulateHistory, SAMPLE_HISTORY_OPTIONS } = await import('../src/simulate/history.ts');
  const { buildFrame } = await import('../src/features/frame.ts');
  const { FEATURES } = await import('../src/features/definition.ts');
  const { trainGbdt } = await import('../src/ml/gbdt.ts');
  const { TreeModel } = await import('../src/ml/tree-model.ts');
  const { calibratorFromJSON } = await import('../src/ml/calibration.ts');
  const { Registry } = await import('../src/registry/registry.ts');
  const store = openStore(join(dir, 'data', 'riskgate.db'));
  const runs = simulateHistory(SAMPLE_HISTORY_OPTIONS);
  store.upsertRuns(runs);
  const frame = buildFrame(store.iterateRuns(), {});
  const ds = { X: frame.X, y: frame.y, n: frame.n, d: frame.d, featureNames: [...FEATURES] };
  // Exactly 150 trees (no early stopping): the size the bar is stated for.
  const r = trainGbdt(ds, undefined, { maxRounds: 150, earlyStoppingRounds: 0, maxDepth: 6, numLeaves: 31 });
  const model = new TreeModel(
    'gbdt',
    [...FEATURES],
    r.trees,
    r.baseScore,
    calibratorFromJSON({ kind: 'platt', a: 1, b: 0 }),
    0.5,
  );
  const registry = new Registry(join(dir, 'models'));
  const m = registry.register({
    kind: 'gbdt',
    features: [...FEATURES],
    data_range: { from: runs[0]?.created_at ?? null, to: runs.at(-1)?.created_at ?? null, rows: frame.n },
    threshold: 0.5,
    status: 'champion',
    metrics: {},
    artifact: model.toJSON(),
  });
  registry.setChampion(m.id);
  store.close();
  return { trees: r.trees.length, runs: runs.length, scorerKind: 'createModelScorer (registry champion)' };
}

type Kind = 'risk' | 'bare' | 'stack' | 'echo';

function startChild(kind: Kind, dir: string): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const self = fileURLToPath(import.meta.url);
  // BENCH_API_PROFILE=DIR writes each server's CPU profile there (inspect with Chrome DevTools).
  const prof = process.env.BENCH_API_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_API_PROFILE, kind)}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', self, '--child', kind, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`${kind} server exited (${code}): ${err}`)));
  });
}

interface LoadResult {
  /** Server CPU (user+system) per request, from /proc: robust to other load on the machine, unlike req/s. */
  cpu_us_per_req?: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { status?: number }).status === 1;
  }
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function wrkLoad(port: number, seconds: number, dir: string): LoadResult {
  const script = join(dir, 'post.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = [[${BODY}]]\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const out = execFileSync(
    'wrk',
    ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/v1/risk`],
    { encoding: 'utf8' },
  );
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50_ms: pct('50'), p99_ms: pct('99'), requests, errors };
}

async function nodeLoad(port: number, seconds: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/risk',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) errors++;
            lat.push(performance.now() - t);
            resolve();
          });
        },
      );
      req.on('error', () => (errors++, resolve()));
      req.end(BODY);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / elapsed,
    p50_ms: lat[lat.length >> 1],
    p99_ms: lat[Math.floor(lat.length * 0.99)],
    requests: lat.length,
    errors,
  };
}

/** utime+stime of a process in microseconds (Linux), or NaN elsewhere. */
function cpuMicros(pid: number): number {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return NaN;
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6; // USER_HZ is 100 on Linux
}

/** One answer of the server on `port`: the headers a handler sets (not those Node adds) and the body. */
function capture(port: number): Promise<{ headers: Record<string, string>; body: string }> {
  const nodeOwn = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'x-request-id']);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/risk', method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const headers = Object.fromEntries(
            Object.entries(res.headers)
              .filter(([k]) => !nodeOwn.has(k))
              .map(([k, v]) => [k, String(v)]),
          );
          resolve({ headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

async function measure(kind: Kind, dir: string, useWrk: boolean): Promise<LoadResult> {
  const { child, port } = await startChild(kind, dir);
  try {
    if (kind === 'risk') writeFileSync(join(dir, 'risk-response.json'), JSON.stringify(await capture(port)));
    // Warm-up: JIT, the history cache and the connection pool.
    if (useWrk) wrkLoad(port, 2, dir);
    else await nodeLoad(port, 2);
    const cpu0 = cpuMicros(child.pid!);
    const r = useWrk ? wrkLoad(port, SECONDS, dir) : await nodeLoad(port, SECONDS);
    const cpu = cpuMicros(child.pid!) - cpu0;
    if (Number.isFinite(cpu) && r.requests > 0) r.cpu_us_per_req = +(cpu / r.requests).toFixed(1);
    return r;
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
  }
}

async function singleScore(dir: string): Promise<Record<string, number | string>> {
  const { openStore } = await import('../src/store/sqlite.ts');
  const { createModelScorer } = await import('../src/serving/model-scorer.ts');
  const { RiskRequestSchema } = await import('../src/serving/schemas.ts');
  const store = openStore(join(dir, 'data', 'riskgate.db'));
  const scorer = await createModelScorer({ store, modelsDir: join(dir, 'models'), pollMs: 0 });
  try {
    const req = RiskRequestSchema.parse(JSON.parse(BODY));
    // Warm-up and measurement are each capped by time too, so a slow scorer cannot stall the whole bench.
    const warmEnd = performance.now() + 1000;
    for (let i = 0; i < 5000 && performance.now() < warmEnd; i++) await scorer.score(req);
    const all = new Float64Array(20_000);
    const end = performance.now() + 3000;
    let N = 0;
    while (N < all.length && performance.now() < end) {
      const t = process.hrtime.bigint();
      await scorer.score(req);
      all[N++] = Number(process.hrtime.bigint() - t) / 1e6;
    }
    const lat = all.slice(0, N).sort();
    const mean = lat.reduce((a, b) => a + b, 0) / N;
    return {
      model: scorer.info()?.id ?? 'none',
      calls: N,
      mean_ms: +mean.toFixed(4),
      p50_ms: +lat[N >> 1].toFixed(4),
      p99_ms: +lat[Math.floor(N * 0.99)].toFixed(4),
    };
  } finally {
    scorer.close();
    store.close();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-api-'));
  try {
    const prep = await prepare(dir);
    const useWrk = hasWrk();
    const generator = useWrk
      ? `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s`
      : `in-process keep-alive client, ${CONNECTIONS} connections, ${SECONDS}s (install wrk for a lighter generator)`;
    console.error(
      `api bench: ${prep.trees}-tree GBDT via ${prep.scorerKind}; ${prep.runs} runs of history; generator: ${generator}`,
    );
    const show = (label: string, r: LoadResult) =>
      console.error(
        `  ${label.padEnd(44)} ${r.rps.toFixed(0)} req/s, p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, server CPU ${r.cpu_us_per_req ?? '?'} µs/req, errors ${r.errors}`,
      );
    const bare = await measure('bare', dir, useWrk);
    show('bare express JSON route:', bare);
    const risk = await measure('risk', dir, useWrk);
    show('POST /v1/risk (150-tree model):', risk);
    const stack = await measure('stack', dir, useWrk);
    show('POST /v1/risk, constant scorer (HTTP stack):', stack);
    const echo = await measure('echo', dir, useWrk);
    show("bare route answering /v1/risk's response:", echo);
    const single = await singleScore(dir);
    const throughputRatio = risk.rps / bare.rps;
    const p99Ratio = risk.p99_ms / bare.p99_ms;
    const out = {
      model: { trees: prep.trees, scorer: prep.scorerKind },
      generator,
      bare,
      risk,
      stack_only: {
        ...stack,
        throughput_ratio: +(stack.rps / bare.rps).toFixed(3),
        p99_ratio: +(stack.p99_ms / bare.p99_ms).toFixed(3),
        cpu_ratio_bare_over_stack:
          stack.cpu_us_per_req && bare.cpu_us_per_req ? +(bare.cpu_us_per_req / stack.cpu_us_per_req).toFixed(3) : null,
      },
      bare_with_risk_response: {
        ...echo,
        throughput_ratio: +(echo.rps / bare.rps).toFixed(3),
        p99_ratio: +(echo.p99_ms / bare.p99_ms).toFixed(3),
      },
      cpu_ratio_bare_over_risk:
        risk.cpu_us_per_req && bare.cpu_us_per_req ? +(bare.cpu_us_per_req / risk.cpu_us_per_req).toFixed(3) : null,
      throughput_ratio: +throughputRatio.toFixed(3),
      p99_ratio: +p99Ratio.toFixed(3),
      single_score: single,
      bars: {
        throughput_ge_0_7x: throughputRatio >= 0.7,
        p99_le_2x: p99Ratio <= 2,
        single_score_lt_0_2ms: (single.mean_ms as number) < 0.2,
        no_errors: risk.errors === 0 && bare.errors === 0,
      },
    };
    console.error(
      `  throughput ratio ${out.throughput_ratio} (bar ≥ 0.7), p99 ratio ${out.p99_ratio} (bar ≤ 2), single score mean ${single.mean_ms} ms / p99 ${single.p99_ms} ms (bar < 0.2 ms)`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const i = process.argv.indexOf('--child');
  if (i > 0) await childMain(process.argv[i + 1], process.argv[i + 2]);
  else console.log(JSON.stringify(await run(), null, 2));
}
