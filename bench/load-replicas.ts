/**
 * `npm run bench:load -- --replicas N`: the load bench's mix (bench/load.ts: 70 % /v1/risk, 20 % /v1/outcomes
 * with new runs, 10 % canary decisions) against 1…N `riskgate serve` replicas over one throwaway PostgreSQL
 * cluster (Debian's binaries, test/support/postgres.ts), with SQLite and one worker beside them in the same run.
 * The generator splits its connections evenly over the replicas (as a Service spreading connections would).
 *
 *   1. max throughput: SQLite 1 worker; PostgreSQL with 1, 2, …, N replicas (each on a fresh copy of the same
 *      database: CREATE DATABASE … TEMPLATE);
 *   2. steady: N replicas at 70 % of their measured maximum for --duration seconds;
 *   3. consistency after it: every outcome that got a 2xx is stored (once: the key is the primary key), and for
 *      100 sampled risk requests (repo × author × change, one instant) each replica answers exactly what a
 *      replica started fresh on the same database answers (same probability and factors, so the same features).
 *
 * PASS when the steady phase holds its rate (≥ 95 %), has 0 errors, and both consistency checks hold.
 * This machine shares its cores with the generator and the database, so the numbers are ratios within one run.
 *
 * Run: npm run bench:load -- --replicas 3 [--duration 600 --max-seconds 10 --connections 32]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/net.ts';
import { pgMissingReason, startPostgres } from '../test/support/postgres.ts';
import { makeMix, prepareTemplate, startServer as startSqliteServer } from './load.ts';

type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, r: Result) => void) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
interface Result {
  duration: number;
  latency: { p50: number; p99: number; p99_9: number; max: number };
  requests: { total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

const LOAD_TS = fileURLToPath(new URL('./load.ts', import.meta.url));
const log = (m: string) => console.error(`load --replicas: ${m}`);

interface Replica {
  url: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

function probe(url: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(
      url + path,
      { method: body ? 'POST' : 'GET', headers: body ? { 'content-type': 'application/json' } : {}, agent: false },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(body);
  });
}

/** One `riskgate serve` (through load.ts's child: serve --no-bootstrap) on the database at `dbUrl`, with its own empty models folder. */
async function startReplica(dbUrl: string): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-load-replica-'));
  const port = await freePort();
  const child = fork(LOAD_TS, ['--child'], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: {
      ...process.env,
      PORT: String(port),
      RISKGATE_WORKERS: '1',
      RISKGATE_DATABASE_URL: dbUrl,
      RISKGATE_DATA_DIR: join(dir, 'data'),
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_RATE_LIMIT: '1000000000',
      RISKGATE_RATE_BURST: '1000000000',
      RISKGATE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while ((await probe(url, '/ready')).status !== 200) {
    if (child.exitCode !== null) throw new Error(`replica exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`replica not ready within 90 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) log(`replica exited ${code}: ${stderr}`);
      return code;
    },
  };
}

/**
 * The mix against several servers at once (connections split evenly), optionally rate-limited overall; the
 * run ids of outcomes answered 2xx are collected for the consistency check.
 */
async function loadAll(
  urls: string[],
  o: { connections: number; seconds: number; rate?: number; seed: number; acked?: Set<string>; sent?: Set<string> },
) {
  const per = Math.max(1, Math.round(o.connections / urls.length));
  const results = await Promise.all(
    urls.map(
      (url, i) =>
        new Promise<Result>((resolve, reject) => {
          const requests = makeMix(o.seed * 100 + i).map((r) => {
            if (r.path !== '/v1/outcomes' || !o.acked) return r;
            const setup = r.setupRequest;
            return {
              ...r,
              setupRequest: (req: Record<string, unknown>, ctx: Record<string, unknown>) => {
                const out = setup(req) as { body: string };
                ctx.runId = (JSON.parse(out.body) as { run_id: string }).run_id;
                o.sent?.add(ctx.runId as string);
                return out;
              },
              onResponse: (status: number, _body: string, ctx: Record<string, unknown>) => {
                if (status >= 200 && status < 300) o.acked!.add(ctx.runId as string);
              },
            };
          });
          autocannon(
            {
              url,
              connections: per,
              duration: o.seconds,
              overallRate: o.rate ? o.rate / urls.length : undefined,
              requests,
              timeout: 10,
            },
            (err, r) => (err ? reject(err) : resolve(r)),
          );
        }),
    ),
  );
  const total = results.reduce((a, r) => a + r.requests.total, 0);
  const seconds = Math.max(...results.map((r) => r.duration));
  return {
    replicas: urls.length,
    rps: +(total / seconds).toFixed(1),
    requests: total,
    // the slowest replica's percentiles (the generator cannot merge histograms across instances)
    p50_ms: Math.max(...results.map((r) => r.latency.p50)),
    p99_ms: Math.max(...results.map((r) => r.latency.p99)),
    max_ms: Math.max(...results.map((r) => r.latency.max)),
    errors: results.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
  };
}

export async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '3' },
      duration: { type: 'string', default: '600' },
      'max-seconds': { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
    },
  });
  const n = Number(values.replicas);
  const duration = Number(values.duration);
  const maxSeconds = Number(values['max-seconds']);
  const connections = Number(values.connections);
  for (const [k, v] of Object.entries({ replicas: n, duration, 'max-seconds': maxSeconds, connections })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  }
  const missing = pgMissingReason();
  if (missing) throw new Error(`--replicas needs a PostgreSQL to start: ${missing}`);

  const cluster = await startPostgres();
  const sqliteTemplate = mkdtempSync(join(tmpdir(), 'rg-load-template-'));
  try {
    // The template database: the sample history and the first model, as a fresh clone's first start makes them.
    const templateUrl = cluster.createDatabase('rg_template');
    const { openPostgresStore } = await import('../src/store/postgres.ts');
    const { ensureChampion } = await import('../training/bootstrap.ts');
    const { startRegistrySync } = await import('../src/registry/db-sync.ts');
    const modelsDir = mkdtempSync(join(tmpdir(), 'rg-load-models-'));
    {
      const store = openPostgresStore(templateUrl);
      await ensureChampion({ store, modelsDir });
      startRegistrySync({ store, modelsDir, intervalMs: 3_600_000 })!.stop();
      store.close();
    }
    rmSync(modelsDir, { recursive: true, force: true });
    let copies = 0;
    // (createDatabase's name goes into CREATE DATABASE as is: a copy of the template, made by the server)
    const freshDb = () =>
      cluster.createDatabase(`rg_run${++copies} TEMPLATE rg_template`).replace(/ TEMPLATE rg_template$/, '');
    const { model } = await prepareTemplate(sqliteTemplate);
    log(`SQLite model ${model}; ${connections} connections split over the replicas; rate limits raised to 1e9/min`);

    // 1. max throughput
    const sqlite = await startSqliteServer(sqliteTemplate, 1, 'ignore');
    await loadAll([sqlite.url], { connections, seconds: 3, seed: 1 });
    const sqliteMax = await loadAll([sqlite.url], { connections, seconds: maxSeconds, seed: 2 });
    await sqlite.stop();
    log(
      `max, SQLite 1 worker: ${sqliteMax.rps} req/s, p50 ${sqliteMax.p50_ms} ms, p99 ${sqliteMax.p99_ms} ms, errors ${sqliteMax.errors}`,
    );
    const pgMax: Record<number, Awaited<ReturnType<typeof loadAll>>> = {};
    for (let k = 1; k <= n; k++) {
      const db = freshDb();
      const replicas = await Promise.all(Array.from({ length: k }, () => startReplica(db)));
      const urls = replicas.map((r) => r.url);
      await loadAll(urls, { connections, seconds: 3, seed: 1 });
      pgMax[k] = await loadAll(urls, { connections, seconds: maxSeconds, seed: 2 });
      await Promise.all(replicas.map((r) => r.stop()));
      log(
        `max, PostgreSQL ${k} replica${k > 1 ? 's' : ''}: ${pgMax[k].rps} req/s, p50 ${pgMax[k].p50_ms} ms, p99 ${pgMax[k].p99_ms} ms, errors ${pgMax[k].errors}`,
      );
    }

    // 2. steady, then 3. consistency
    const rate = Math.max(1, Math.round(0.7 * pgMax[n].rps));
    const db = freshDb();
    const replicas = await Promise.all(Array.from({ length: n }, () => startReplica(db)));
    const acked = new Set<string>();
    const sent = new Set<string>();
    log(`steady: ${n} replicas at ${rate} req/s (70 % of their max) for ${duration} s`);
    const steady = await loadAll(
      replicas.map((r) => r.url),
      { connections, seconds: duration, rate, seed: 4, acked, sent },
    );
    log(`steady: ${steady.rps} req/s, p50 ${steady.p50_ms} ms, p99 ${steady.p99_ms} ms, errors ${steady.errors}`);

    const check = openPostgresStore(db, { migrate: false });
    const { rawQuery } = await import('../src/store/postgres.ts');
    const stored = new Set(
      (rawQuery(check, "SELECT run_id FROM runs WHERE run_id LIKE 'load-%'") as { run_id: string }[]).map(
        (r) => r.run_id,
      ),
    );
    const missing2xx = [...acked].filter((id) => !stored.has(id));
    const strays = [...stored].filter((id) => !sent.has(id));
    check.close();

    // The same 100 requests (one instant, within the live history's 60 s window) to every replica and to a fresh one.
    const fresh = await startReplica(db);
    const at = new Date().toISOString();
    const samples = Array.from({ length: 100 }, (_, i) =>
      JSON.stringify({
        ...JSON.parse(makeMix(900 + i, 'risk-only')[0].setupRequest({}).body as string),
        created_at: at,
      }),
    );
    const answer = async (url: string) => {
      const out: string[] = [];
      for (const body of samples) {
        const r = await probe(url, '/v1/risk', body);
        const j = JSON.parse(r.text) as { probability: number; factors: unknown; degraded: boolean };
        out.push(JSON.stringify([j.probability, j.factors, j.degraded]));
      }
      return out;
    };
    const truth = await answer(fresh.url);
    const mismatches: number[] = [];
    const examples: { replica: number; request: unknown; replica_answer: unknown; fresh_answer: unknown }[] = [];
    for (const [k, r] of replicas.entries()) {
      const got = await answer(r.url);
      mismatches.push(got.filter((g, i) => g !== truth[i]).length);
      const i = got.findIndex((g, j) => g !== truth[j]);
      if (i >= 0)
        examples.push({
          replica: k,
          request: JSON.parse(samples[i]),
          replica_answer: JSON.parse(got[i]),
          fresh_answer: JSON.parse(truth[i]),
        });
    }
    const stops = await Promise.all([...replicas, fresh].map((r) => r.stop()));

    const checks = {
      holds_rate: steady.rps >= 0.95 * rate,
      zero_errors: steady.errors === 0,
      every_2xx_outcome_stored: missing2xx.length === 0 && strays.length === 0,
      replicas_equal_a_fresh_one: mismatches.every((m) => m === 0),
      clean_shutdown: stops.every((c) => c === 0),
    };
    const pass = Object.values(checks).every(Boolean);
    const report = {
      connections,
      max_throughput: {
        sqlite_1_worker: sqliteMax,
        postgres: pgMax,
        scaling: Object.fromEntries(Object.entries(pgMax).map(([k, v]) => [k, +(v.rps / pgMax[1].rps).toFixed(2)])),
      },
      steady: { ...steady, target_rps: rate, seconds: duration },
      consistency: {
        outcomes_acknowledged: acked.size,
        outcomes_sent: sent.size,
        stored: stored.size,
        acknowledged_missing: missing2xx.length,
        stored_not_sent: strays.length,
        sampled_requests: samples.length,
        mismatches_per_replica: mismatches,
        first_mismatch_per_replica: examples,
      },
      checks,
      result: pass ? 'PASS' : 'FAIL',
    };
    console.log(JSON.stringify(report, null, 2));
    console.error(
      [
        '',
        `max throughput   SQLite 1 worker ${sqliteMax.rps} req/s; PostgreSQL ${Object.entries(pgMax)
          .map(([k, v]) => `${k} replica${k === '1' ? '' : 's'} ${v.rps}`)
          .join(', ')} req/s`,
        `steady ${duration} s    ${n} replicas ${steady.rps} req/s of ${rate} target, p99 ${steady.p99_ms} ms, errors ${steady.errors}`,
        `consistency      ${acked.size} outcomes acknowledged, ${missing2xx.length} missing; replicas vs fresh: ${mismatches.join(', ')} of ${samples.length} differ`,
        `RESULT           ${report.result}`,
      ].join('\n'),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    cluster.destroy();
    rmSync(sqliteTemplate, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
