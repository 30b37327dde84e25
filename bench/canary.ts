/**
 * Canary benchmark: the simulated rollout comparison (Riskgate vs fixed steps vs a Kayenta-style judge)
 * with the bars from the issue checked, and the latency of one decision for 10 metrics × 300 samples —
 * the pure `decide()` and the full HTTP round trip to a `riskgate serve` in its own process.
 * The bars are checked on the randomized family (family.ts) at each of REPORT_SEEDS and on all of them pooled;
 * the judge was not tuned on them.
 * Run: node --import tsx bench/canary.ts [--per-kind N] [--family-per-kind N] [--no-http]
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { decide, EMPTY_STATE, type RolloutState } from '../src/canary/controller.ts';
import type { MetricInput } from '../src/canary/judge.ts';
import { fixedStepsPolicy, kayentaPolicy, riskgatePolicy } from '../src/canary/policies.ts';
import { comparisonTable } from '../src/canary/report.ts';
import { DEFAULT_SIM, mulberry32, normal, simulate, type PolicySummary } from '../src/canary/simulator.ts';
import {
  familyRow,
  familyTable,
  makeFamily,
  REPORT_PER_KIND,
  REPORT_SEEDS,
  TUNING_SEEDS,
  type FamilyRelease,
  type FamilyRow,
} from '../src/canary/family.ts';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export function tenMetrics(seed: number, n = 300): MetricInput[] {
  const r = mulberry32(seed);
  return Array.from({ length: 10 }, (_, i) => ({
    name: `m${i}`,
    direction: 'increase' as const,
    critical: i < 3,
    baseline: Array.from({ length: n }, () => (i === 0 ? (r() < 0.05 ? 1 : 0) : 100 * Math.exp(0.1 * normal(r)))),
    canary: Array.from({ length: n }, () => (i === 0 ? (r() < 0.05 ? 1 : 0) : 100 * Math.exp(0.1 * normal(r)))),
  }));
}

async function decideLatency(
  iterations = 2000,
): Promise<{ p50: number; p99: number; max: number; cpuP50: number; cpuP99: number }> {
  const inputs = Array.from({ length: 20 }, (_, i) => tenMetrics(1000 + i));
  // A rollout a few looks in, as the controller usually sees it.
  let state: RolloutState = EMPTY_STATE;
  for (let i = 0; i < 3; i++)
    state = decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: inputs[i] }, state).state;
  for (let i = 0; i < 1000; i++)
    decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: inputs[i % 20] }, state);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: inputs[i % 20] }, state);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  // CPU time per call is reported too: on a shared, loaded machine wall-clock p99 mostly measures preemption.
  return {
    p50: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    max: Math.max(...times),
    cpuP50: quantile(cpu, 0.5),
    cpuP99: quantile(cpu, 0.99),
  };
}

/** One keep-alive `node:http` client: `fetch` (undici) alone adds more to a 100 KB round trip's tail than the judge does. */
function poster(url: string): { post(body: Buffer): Promise<{ status: number; text: string }>; close(): void } {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    post: (body) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': body.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

const decisionBodies = (): Buffer[] =>
  Array.from({ length: 20 }, (_, i) =>
    Buffer.from(
      JSON.stringify({
        deployment: { service: 'bench', version: `v${i % 5}` },
        current_weight: 10,
        elapsed_s: 60,
        risk: 0.2,
        metrics: tenMetrics(2000 + i),
      }),
    ),
  );

async function timeRoundTrips(url: string, bodies: Buffer[], iterations: number): Promise<number[]> {
  const client = poster(url);
  try {
    for (let i = 0; i < 100; i++) await client.post(bodies[i % bodies.length]);
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      const res = await client.post(bodies[i % bodies.length]);
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    return times;
  } finally {
    client.close();
  }
}

/**
 * The decision endpoint as a pipeline sees it: a real `riskgate serve` (validation, logging, metrics, the
 * store writes) in its own process, asked one decision at a time over a keep-alive connection. Reported
 * twice: the server's own time per request (from its access log: headers parsed → response finished,
 * so it includes receiving and parsing the 100 KB body) and the client's round trip. The same client
 * against a bare Express JSON route receiving the same bodies gives the round-trip floor of this machine.
 */
async function httpLatency(
  iterations = 1000,
): Promise<{ server: Quantiles; roundTrip: Quantiles; floor: Quantiles; busyFloor: { ms: number; q: Quantiles }[] }> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-canary-'));
  // BENCH_CANARY_PROFILE=DIR writes the server's CPU profile there when it stops.
  const prof = process.env.BENCH_CANARY_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CANARY_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
    env: {
      ...process.env,
      PORT: '0',
      RISKGATE_DATA_DIR: join(dir, 'data'),
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_RATE_LIMIT: '1000000000',
      RISKGATE_RATE_BURST: '1000000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const serverMs: number[] = [];
  const bodies = decisionBodies();
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c) => {
        out += c;
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`riskgate serve exited (${code})`)));
    });
    child.stdout!.removeAllListeners('data');
    let measuring = false;
    let partial = '';
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (!measuring) return;
      for (const line of lines) {
        if (!line.includes('"url":"/v1/canary/decision"')) continue;
        const ms = (JSON.parse(line) as { ms?: number }).ms;
        if (typeof ms === 'number') serverMs.push(ms);
      }
    });
    const url = `${base}/v1/canary/decision`;
    await timeRoundTrips(url, bodies, 100);
    measuring = true;
    const roundTrip = await timeRoundTrips(url, bodies, iterations);
    // the last access-log lines are flushed asynchronously
    for (let i = 0; i < 50 && serverMs.length < iterations + 100; i++) await new Promise((r) => setTimeout(r, 20));
    const floor = await bareFloor(bodies, iterations);
    // What the machine leaves for the work itself: the bare route again, computing for 1 and 2 ms before it
    // answers with a real decision's body (ours takes about 2 ms beyond receiving and parsing the samples).
    const decisionBody = JSON.stringify(
      decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: tenMetrics(7) }, EMPTY_STATE).decision,
    );
    const busyFloor = [];
    for (const ms of [1, 2])
      busyFloor.push({ ms, q: quantiles(await bareFloor(bodies, iterations, { busyMs: ms, body: decisionBody })) });
    return {
      server: quantiles(serverMs.slice(-iterations)),
      roundTrip: quantiles(roundTrip),
      floor: quantiles(floor),
      busyFloor,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A bare Express JSON route (body parser only) in its own process, receiving the same bodies; with `busy`,
 * it computes for `busyMs` before answering with `body`.
 */
async function bareFloor(
  bodies: Buffer[],
  iterations: number,
  busy?: { busyMs: number; body: string },
): Promise<number[]> {
  const { spawn } = await import('node:child_process');
  const code = `const express = require('express'); const app = express(); app.use(express.json({ limit: '1mb' }));
const busyMs = Number(process.env.BUSY_MS || 0), answer = process.env.BUSY_BODY ? JSON.parse(process.env.BUSY_BODY) : null;
app.post('/x', (req, res) => {
  const t = performance.now();
  while (performance.now() - t < busyMs);
  res.json(answer ?? { ok: Array.isArray(req.body.metrics) });
});
const s = app.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const env = { ...process.env, BUSY_MS: String(busy?.busyMs ?? 0), BUSY_BODY: busy?.body ?? '' };
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (c) => resolve(String(c).trim()));
      child.once('exit', (c) => reject(new Error(`bare server exited (${c})`)));
    });
    return await timeRoundTrips(`http://127.0.0.1:${port}/x`, bodies, iterations);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}
const quantiles = (xs: number[]): Quantiles => ({
  p50: quantile(xs, 0.5),
  p99: quantile(xs, 0.99),
  max: Math.max(...xs),
});

export async function run(
  opts: {
    perKind?: number;
    seed?: number;
    familyPerKind?: number;
    familySeeds?: readonly number[];
    http?: boolean;
  } = {},
): Promise<{
  rows: PolicySummary[];
  family: FamilyRow[];
  perSeed: { seed: number; rows: FamilyRow[] }[];
  bars: Record<string, boolean>;
  latency: Record<string, number>;
}> {
  const seeds = opts.familySeeds ?? REPORT_SEEDS;
  for (const s of seeds)
    if (TUNING_SEEDS.includes(s)) throw new Error(`seed ${s} was used for tuning; report on another`);
  const perKind = opts.familyPerKind ?? REPORT_PER_KIND;
  const policies = [riskgatePolicy, fixedStepsPolicy, kayentaPolicy];
  const perSeed: { seed: number; rows: FamilyRow[] }[] = [];
  const allReleases: FamilyRelease[] = [];
  for (const seed of seeds) {
    const releases = makeFamily(seed, perKind);
    const tf = performance.now();
    const rows: FamilyRow[] = [];
    for (const p of policies) rows.push(await familyRow(p(), releases));
    perSeed.push({ seed, rows });
    // Ids are per seed; renumbered so the pooled run below keeps them distinct.
    for (const r of releases) allReleases.push({ ...r, id: allReleases.length });
    console.log(
      `# canary family (family.ts): report seed ${seed} (tuned on ${TUNING_SEEDS.join(', ')}), ${releases.length} releases, ` +
        `${releases.filter((r) => r.scenario.heldOutSetting).length} in the held-out setting; start 5 %, 60-minute horizon (${((performance.now() - tf) / 1000).toFixed(1)} s)\n`,
    );
    console.log(familyTable(rows));
    console.log('');
  }
  // The same releases pooled (each simulated again with its own sample stream: identical outcomes).
  const family: FamilyRow[] = [];
  for (const p of policies) family.push(await familyRow(p(), allReleases));
  console.log(
    `# canary family, all ${seeds.length} report seeds pooled (${seeds.join(', ')}), ${allReleases.length} releases\n`,
  );
  console.log(familyTable(family));
  console.log('');

  const cfg = { ...DEFAULT_SIM, perKind: opts.perKind ?? 200, seed: opts.seed ?? DEFAULT_SIM.seed };
  const t0 = performance.now();
  const rows: PolicySummary[] = [];
  for (const p of [riskgatePolicy(), fixedStepsPolicy(), kayentaPolicy()]) rows.push((await simulate(p, cfg)).summary);
  const simMs = performance.now() - t0;
  console.log(
    `# canary simulation: seed ${cfg.seed}, ${cfg.perKind} releases per kind, ${cfg.interval_s}s intervals (${(simMs / 1000).toFixed(1)} s)\n`,
  );
  console.log(comparisonTable(rows));

  const bars: Record<string, boolean> = {};
  for (const { seed, rows: fr } of [...perSeed, { seed: 0, rows: family }]) {
    const [ours, fixed, kayenta] = fr;
    const tag = seed === 0 ? 'family (report seeds pooled)' : `family (report seed ${seed})`;
    bars[`${tag}: bad rolled back ≥ 99 %`] = ours.bad_caught >= 0.99;
    bars[`${tag}: good rolled back ≤ 1 %`] = ours.good_rolled_back <= 0.01;
    bars[`${tag}: less bad exposure than fixed steps`] = ours.bad_exposure < fixed.bad_exposure;
    bars[`${tag}: less bad exposure than kayenta-mw`] = ours.bad_exposure < kayenta.bad_exposure;
    bars[`${tag}: fewer decisions to full traffic than fixed 5/25/75/100 (3)`] =
      ours.good_decisions_to_full < fixed.good_decisions_to_full;
  }
  Object.assign(bars, {
    'fixed simulator: bad rolled back ≥ 99 %': rows[0].bad_rolled_back >= 0.99,
    'fixed simulator: good rolled back ≤ 1 %': rows[0].good_rolled_back <= 0.01,
  });
  const lat = await decideLatency();
  if (opts.http === false) {
    console.log(
      `\ndecide(), 10 metrics × 300 samples: p50 ${lat.p50.toFixed(2)} ms  p99 ${lat.p99.toFixed(2)} ms (CPU p99 ${lat.cpuP99.toFixed(2)} ms)`,
    );
    bars['decide() p99 < 5 ms (10 metrics × 300 samples)'] = lat.p99 < 5;
    console.log('\n# bars');
    for (const [k, v] of Object.entries(bars)) console.log(`${v ? 'PASS' : 'FAIL'}  ${k}`);
    return {
      rows,
      family,
      perSeed,
      bars,
      latency: { decide_p50_ms: lat.p50, decide_p99_ms: lat.p99, decide_cpu_p99_ms: lat.cpuP99 },
    };
  }
  const http = await httpLatency();
  const latency = {
    decide_p50_ms: lat.p50,
    decide_p99_ms: lat.p99,
    decide_max_ms: lat.max,
    decide_cpu_p99_ms: lat.cpuP99,
    server_p50_ms: http.server.p50,
    server_p99_ms: http.server.p99,
    round_trip_p50_ms: http.roundTrip.p50,
    round_trip_p99_ms: http.roundTrip.p99,
    bare_round_trip_p50_ms: http.floor.p50,
    bare_round_trip_p99_ms: http.floor.p99,
    ...Object.fromEntries(http.busyFloor.map((b) => [`bare_plus_${b.ms}ms_round_trip_p99_ms`, b.q.p99])),
  };
  (bars as Record<string, boolean>)['decide() p99 < 5 ms (10 metrics × 300 samples)'] = lat.p99 < 5;
  // Both readings of "answers in under 5 ms": the server's own time, and the caller's round trip (which also
  // carries this machine's floor for a 100 KB body, printed below for comparison).
  (bars as Record<string, boolean>)['POST /v1/canary/decision p99 < 5 ms in the server (riskgate serve, own process)'] =
    http.server.p99 < 5;
  (bars as Record<string, boolean>)['POST /v1/canary/decision p99 < 5 ms round trip'] = http.roundTrip.p99 < 5;
  const f = (q: Quantiles) => `p50 ${q.p50.toFixed(2)} ms  p99 ${q.p99.toFixed(2)} ms  max ${q.max.toFixed(2)} ms`;
  console.log(`\n# decision latency, 10 metrics × 300 samples each (~100 KB body)`);
  console.log(`decide():                          ${f(lat)} (wall clock)`);
  console.log(`decide() CPU time:                 p50 ${lat.cpuP50.toFixed(2)} ms  p99 ${lat.cpuP99.toFixed(2)} ms`);
  console.log(`POST /v1/canary/decision, server:  ${f(http.server)} (access log: headers in → response out)`);
  console.log(`POST /v1/canary/decision, client:  ${f(http.roundTrip)} (round trip, keep-alive node:http)`);
  console.log(`bare Express JSON route, client:   ${f(http.floor)} (same bodies: this machine's floor)`);
  for (const b of http.busyFloor)
    console.log(`  … computing ${b.ms} ms first:       ${f(b.q)} (what ${b.ms} ms of work costs a round trip here)`);
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${(await import('node:os')).availableParallelism()} cores`,
  );
  console.log('\n# bars');
  for (const [k, v] of Object.entries(bars)) console.log(`${v ? 'PASS' : 'FAIL'}  ${k}`);
  return { rows, family, perSeed, bars, latency };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--per-kind');
  const f = process.argv.indexOf('--family-per-kind');
  run({
    perKind: i > 0 ? Number(process.argv[i + 1]) : undefined,
    familyPerKind: f > 0 ? Number(process.argv[f + 1]) : undefined,
    http: !process.argv.includes('--no-http'),
  }).then(
    (r) => {
      process.exitCode = Object.values(r.bars).every(Boolean) ? 0 : 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
