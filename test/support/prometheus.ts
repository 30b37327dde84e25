/**
 * A throwaway Debian Prometheus on a free 127.0.0.1 port, scraping the given targets. Tests call
 * `requirePrometheus(t)` first: it skips with the reason when the binary is missing, and fails under
 * CI=true, where a skip would hide a missing dependency.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './net.ts';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** False (after skipping `t`) when `binary` is absent; throws under CI=true. */
export function requireBinary(t: TestContext, binary: string, pkg = 'prometheus'): boolean {
  if (existsSync(binary)) return true;
  if (process.env.CI === 'true') assert.fail(`${binary} is required in CI (apt-get install ${pkg})`);
  t.skip(`${binary} not installed (apt-get install ${pkg})`);
  return false;
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  /** Polls an instant query until `ok` accepts its values (Prometheus has no event for "data has arrived"). */
  waitFor(query: string, ok: (values: number[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Current value of a counter of Prometheus's own /metrics (e.g. API calls served). */
  selfMetric(name: string, labels?: Record<string, string>): Promise<number>;
}

export async function startPrometheus(
  targets: Record<string, string>,
  scrapeInterval = '1s',
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-prom-'));
  const port = await freePort();
  const jobs = Object.entries(targets)
    .map(([job, target]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ['${target}']\n`)
    .join('');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: ${scrapeInterval}\n  evaluation_interval: ${scrapeInterval}\nscrape_configs:\n${jobs}`,
  );
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const url = `http://127.0.0.1:${port}`;
  const poll = async (check: () => Promise<boolean>, what: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await check()) return;
      } catch {
        /* not up yet */
      }
      assert.ok(Date.now() < deadline, `Prometheus: ${what} within ${timeoutMs} ms`);
      await new Promise((ok) => setTimeout(ok, 250));
    }
  };
  const running: RunningPrometheus = {
    url,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
    async waitFor(query, ok, timeoutMs = 45_000) {
      await poll(
        async () => {
          const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, {
            signal: AbortSignal.timeout(1000),
          });
          const j = (await res.json()) as { data?: { result: { value: [number, string] }[] } };
          return ok((j.data?.result ?? []).map((r) => Number(r.value[1])));
        },
        `data for ${query}`,
        timeoutMs,
      );
    },
    async selfMetric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
  };
  try {
    await poll(async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok, 'ready', 30_000);
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}
