/**
 * Canary benchmark: the simulated rollout comparison (Riskgate vs fixed steps vs a Kayenta-style judge)
 * with the bars from the issue checked, and the latency of one decision for 10 metrics × 300 samples —
 * the pure `decide()` and the full HTTP round trip to a `riskgate serve` in its own process.
 * Run: node --import tsx bench/canary.ts [--per-kind N]
 */
import { pathToFileURL } from 'node:url';
import { decide, EMPTY_STATE, type RolloutState } from '../src/canary/controller.ts';
import type { MetricInput } from '../src/canary/judge.ts';
import { fixedStepsPolicy, kayentaPolicy, riskgatePolicy } from '../src/canary/policies.ts';
import { comparisonTable } from '../src/canary/report.ts';
import { DEFAULT_SIM, mulberry32, normal, simulate, type PolicySummary } from '../src/canary/simulator.ts';

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

async function decideLatency(iterations = 2000): Promise<{ p50: number; p99: number; max: number; cpuP50: number; cpuP99: number }> {
  const inputs = Array.from({ length: 20 }, (_, i) => tenMetrics(1000 + i));
  // A rollout a few looks in, as the controller usually sees it.
  let state: RolloutState = EMPTY_STATE;
  for (let i = 0; i < 3; i++) state = decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: inputs[i] }, state).state;
  for (let i = 0; i < 1000; i++) decide({ current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: inputs[i % 20] }, state);
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
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: Math.max(...times), cpuP50: quantile(cpu, 0.5), cpuP99: quantile(cpu, 0.99) };
}

/**
 * The decision endpoint as a pipeline sees it: a real `riskgate serve` (validation, logging, metrics, the
 * store writes) in its own process, asked one decision at a time over a keep-alive connection.
 */
async function httpLatency(iterations = 1000): Promise<{ p50: number; p99: number }> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-canary-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
    env: { ...process.env, PORT: '0', RISKGATE_DATA_DIR: join(dir, 'data'), RISKGATE_MODELS_DIR: join(dir, 'models'), RISKGATE_RATE_LIMIT: '1000000000', RISKGATE_RATE_BURST: '1000000000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
    child.stdout!.resume();
    const url = `${base}/v1/canary/decision`;
    const bodies = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ deployment: { service: 'bench', version: `v${i % 5}` }, current_weight: 10, elapsed_s: 60, risk: 0.2, metrics: tenMetrics(2000 + i) }),
    );
    const post = async (b: string): Promise<void> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
      if (res.status !== 200) throw new Error(`decision answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 100; i++) await post(bodies[i % 20]);
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await post(bodies[i % 20]);
      times.push(performance.now() - t0);
    }
    return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: { perKind?: number; seed?: number } = {}): Promise<{ rows: PolicySummary[]; bars: Record<string, boolean>; latency: Record<string, number> }> {
  const cfg = { ...DEFAULT_SIM, perKind: opts.perKind ?? 200, seed: opts.seed ?? DEFAULT_SIM.seed };
  const t0 = performance.now();
  const rows: PolicySummary[] = [];
  for (const p of [riskgatePolicy(), fixedStepsPolicy(), kayentaPolicy()]) rows.push((await simulate(p, cfg)).summary);
  const simMs = performance.now() - t0;
  console.log(`# canary simulation: seed ${cfg.seed}, ${cfg.perKind} releases per kind, ${cfg.interval_s}s intervals (${(simMs / 1000).toFixed(1)} s)\n`);
  console.log(comparisonTable(rows));

  const [ours, fixed, kayenta] = rows;
  const bars = {
    'bad rolled back ≥ 99 %': ours.bad_rolled_back >= 0.99,
    'good rolled back ≤ 1 %': ours.good_rolled_back <= 0.01,
    'less exposure than fixed steps': ours.bad_exposure < fixed.bad_exposure,
    'less exposure than kayenta-mw': ours.bad_exposure < kayenta.bad_exposure,
    'fewer steps to full traffic than fixed steps': ours.good_steps < fixed.good_steps,
  };
  const lat = await decideLatency();
  const http = await httpLatency();
  const latency = { decide_p50_ms: lat.p50, decide_p99_ms: lat.p99, decide_max_ms: lat.max, decide_cpu_p99_ms: lat.cpuP99, http_p50_ms: http.p50, http_p99_ms: http.p99 };
  (bars as Record<string, boolean>)['decide() p99 < 5 ms (10 metrics × 300 samples)'] = lat.p99 < 5;
  (bars as Record<string, boolean>)['POST /v1/canary/decision p99 < 5 ms (server in its own process)'] = http.p99 < 5;
  console.log(`\n# decision latency, 10 metrics × 300 samples each`);
  console.log(`decide():            p50 ${lat.p50.toFixed(2)} ms  p99 ${lat.p99.toFixed(2)} ms  max ${lat.max.toFixed(2)} ms (wall clock)`);
  console.log(`decide() CPU time:   p50 ${lat.cpuP50.toFixed(2)} ms  p99 ${lat.cpuP99.toFixed(2)} ms`);
  console.log(`load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).availableParallelism()} cores`);
  console.log(`HTTP (riskgate serve, own process): p50 ${http.p50.toFixed(2)} ms  p99 ${http.p99.toFixed(2)} ms`);
  console.log('\n# bars');
  for (const [k, v] of Object.entries(bars)) console.log(`${v ? 'PASS' : 'FAIL'}  ${k}`);
  return { rows, bars, latency };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--per-kind');
  run({ perKind: i > 0 ? Number(process.argv[i + 1]) : undefined }).then(
    (r) => {
      process.exitCode = Object.values(r.bars).every(Boolean) ? 0 : 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
