/**
 * The largest canary requests the limits accept (issue 16.1's bar: each answered in < 1 s with < 200 MB
 * extra memory, /live answering throughout), against a real `riskgate serve` in its own process:
 *  - decision: the per-request sample total spent on as few metrics as the per-side limit allows
 *    (2 × 11,000 + 2 × 11,000 + 2 × 3,000), latencies rounded to 0.1 ms — the attack's shape, at the limit;
 *  - Kayenta /judge: the same samples as metric set pairs;
 *  - peer: the usual decision (10 metrics × 300 samples a side) in the same run, for the ratio.
 * Memory is the server's peak RSS (VmHWM, reset through /proc/PID/clear_refs before each shape) above its
 * RSS after warm-up. /live is probed every 5 ms while the large requests run; its slowest answer is printed.
 * Run: node --import tsx bench/canary-limits.ts   (or `npm run bench -- canary-limits`)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_SAMPLES_PER_REQUEST, MAX_SAMPLES_PER_SIDE } from '../src/canary/limits.ts';
import { mulberry32, normal } from '../src/canary/simulator.ts';
import { tenMetrics } from './canary.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function request(base: string, method: string, path: string, body?: Buffer): Promise<{ status: number; ms: number }> {
  const u = new URL(base + path);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method,
        agent,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const kib = (pid: number, field: 'VmRSS' | 'VmHWM'): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

function largestMetrics(seed: number): { name: string; direction: 'increase'; baseline: number[]; canary: number[] }[] {
  const r = mulberry32(seed);
  const lat = (n: number, scale: number) =>
    Array.from({ length: n }, () => Math.round(1000 * scale * Math.exp(0.3 * normal(r))) / 10);
  const out = [];
  let left = MAX_SAMPLES_PER_REQUEST;
  for (let i = 0; left >= 20; i++) {
    const side = Math.min(MAX_SAMPLES_PER_SIDE, Math.floor(left / 2));
    out.push({ name: `m${i}`, direction: 'increase' as const, baseline: lat(side, 1), canary: lat(side, 1.02) });
    left -= 2 * side;
  }
  return out;
}

interface Shape {
  name: string;
  path: string;
  bodies: Buffer[];
}

export async function run(iterations = 5): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-limits-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
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
    const pid = child.pid!;
    const dep = (i: number) => ({ service: 'bench-limits', version: `v${i}` });
    const typical: Shape = {
      name: 'decision 10 × 300 (usual)',
      path: '/v1/canary/decision',
      bodies: Array.from({ length: 10 }, (_, i) =>
        Buffer.from(
          JSON.stringify({
            deployment: dep(i),
            current_weight: 10,
            elapsed_s: 60,
            risk: 0.2,
            metrics: tenMetrics(3000 + i),
          }),
        ),
      ),
    };
    const largest: Shape = {
      name: `decision ${MAX_SAMPLES_PER_REQUEST} samples (largest accepted)`,
      path: '/v1/canary/decision',
      bodies: Array.from({ length: iterations }, (_, i) =>
        Buffer.from(
          JSON.stringify({
            deployment: dep(100 + i),
            current_weight: 10,
            elapsed_s: 60,
            risk: 0.2,
            metrics: largestMetrics(i),
          }),
        ),
      ),
    };
    const kayenta: Shape = {
      name: `kayenta /judge ${MAX_SAMPLES_PER_REQUEST} samples (largest accepted)`,
      path: '/judge',
      bodies: Array.from({ length: iterations }, (_, i) => {
        const ms = largestMetrics(50 + i);
        return Buffer.from(
          JSON.stringify({
            canaryConfig: {
              name: 'bench',
              metrics: ms.map((m) => ({
                name: m.name,
                groups: ['g'],
                analysisConfigurations: { canary: { direction: 'increase' } },
              })),
            },
            scoreThresholds: { pass: 95, marginal: 75 },
            metricSetPairList: ms.map((m) => ({ name: m.name, values: { control: m.baseline, experiment: m.canary } })),
          }),
        );
      }),
    };
    for (let i = 0; i < 30; i++) await request(base, 'POST', typical.path, typical.bodies[i % typical.bodies.length]);
    const results: Record<string, unknown> = {};
    let typicalP50 = NaN;
    for (const shape of [typical, largest, kayenta]) {
      const rss0 = kib(pid, 'VmRSS');
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets the peak (VmHWM) to the current RSS
      let probing = true;
      let liveMax = 0;
      let liveCount = 0;
      const prober = (async () => {
        while (probing) {
          const l = await request(base, 'GET', '/live');
          if (l.status !== 200) throw new Error(`/live answered ${l.status}`);
          liveMax = Math.max(liveMax, l.ms);
          liveCount++;
          await new Promise((ok) => setTimeout(ok, 5));
        }
      })();
      const times: number[] = [];
      for (let i = 0; i < Math.max(iterations, shape.bodies.length); i++) {
        const res = await request(base, 'POST', shape.path, shape.bodies[i % shape.bodies.length]);
        if (res.status !== 200) throw new Error(`${shape.name}: answered ${res.status}`);
        times.push(res.ms);
      }
      probing = false;
      await prober;
      times.sort((a, b) => a - b);
      const p50 = times[Math.floor(times.length / 2)];
      if (shape === typical) typicalP50 = p50;
      results[shape.name] = {
        requests: times.length,
        body_kb: Math.round(shape.bodies[0].length / 1024),
        round_trip_ms: { p50: +p50.toFixed(1), max: +times[times.length - 1].toFixed(1) },
        vs_usual_p50: +(p50 / typicalP50).toFixed(1),
        extra_peak_rss_mb: +((kib(pid, 'VmHWM') - rss0) / 1024).toFixed(1),
        live: { probes: liveCount, slowest_ms: +liveMax.toFixed(1) },
      };
    }
    return results;
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
