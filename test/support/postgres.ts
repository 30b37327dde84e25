/**
 * A throwaway PostgreSQL cluster for tests: Debian's `postgresql` binaries, `initdb` into a temp dir (as the
 * `postgres` user when running as root, since the server refuses to run as root), started on a free
 * 127.0.0.1 port with its socket in the same dir, trust authentication, removed at the end.
 *
 * `pgOrSkip` skips the test with the reason when the binaries are absent, except under CI=true, where a skip
 * would hide a missing dependency and fails the test instead.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { freePort } from './net.ts';

/** The server binaries: RISKGATE_PG_BIN, else the newest Debian/Ubuntu install (/usr/lib/postgresql/<major>/bin). */
export const PG_BIN = process.env.RISKGATE_PG_BIN ?? newestDebianBin() ?? '/usr/lib/postgresql/15/bin';

function newestDebianBin(): string | undefined {
  try {
    const majors = readdirSync('/usr/lib/postgresql')
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    return majors.map((m) => join('/usr/lib/postgresql', m, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  } catch {
    return undefined;
  }
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  /** A fresh, empty database on the cluster; its URL. */
  createDatabase(name?: string): string;
  /** Stops the server (fast shutdown: open connections are terminated), keeping its data. */
  stop(): void;
  /** Starts it again on the same port. */
  start(): void;
  /** Stops it and removes its files. */
  destroy(): void;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** Runs a cluster binary, as `postgres` when we are root. */
function pgRun(bin: string, args: string[]): void {
  const cmd = asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args];
  const r = spawnSync(cmd[0] as string, cmd[1] as string[], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export function pgMissingReason(): string | null {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl')))
    return `PostgreSQL binaries not found in ${PG_BIN} (apt-get install postgresql)`;
  if (asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return 'running as root without a `postgres` user to run the server as';
  return null;
}

/** Skips `t` (or fails it under CI=true) when no cluster can be started here; returns whether to go on. */
export function pgOrSkip(t: TestContext): boolean {
  const why = pgMissingReason();
  if (why === null) return true;
  if (process.env.CI === 'true') assert.fail(`${why}: required in CI`);
  t.skip(why);
  return false;
}

let dbCounter = 0;

/**
 * A port for the next cluster: from RISKGATE_PG_TEST_PORTS ("48000-48099") when set, so parallel workers on
 * one machine can be given disjoint ranges, else any free one.
 */
async function clusterPort(): Promise<number> {
  const m = /^(\d+)-(\d+)$/.exec(process.env.RISKGATE_PG_TEST_PORTS ?? '');
  if (!m) return freePort();
  const { createServer } = await import('node:net');
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  for (let i = 0; i <= hi - lo; i++) {
    const port = lo + ((process.pid + i) % (hi - lo + 1));
    const free = await new Promise<boolean>((ok) => {
      const s = createServer()
        .once('error', () => ok(false))
        .listen(port, '127.0.0.1', () => s.close(() => ok(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in RISKGATE_PG_TEST_PORTS=${process.env.RISKGATE_PG_TEST_PORTS}`);
}

export async function startPostgres(opts: { port?: number } = {}): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    chmodSync(dir, 0o777);
    execFileSync('chown', ['postgres', dir]);
  }
  pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const port = opts.port ?? (await clusterPort());
  const start = () =>
    pgRun('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`,
      'start',
    ]);
  start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running = true;
  return {
    url,
    port,
    dir,
    createDatabase(name = `t${process.pid}_${++dbCounter}`) {
      pgRun('psql', [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `CREATE DATABASE ${name}`,
      ]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      if (!running) return;
      pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
    start() {
      if (running) return;
      start();
      running = true;
    },
    destroy() {
      try {
        if (running) pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One throwaway cluster for the test file that calls this (at module level): started before its tests when
 * PostgreSQL is installed, destroyed after them. `cluster` is null when it is not installed (each
 * test then skips, or fails under CI=true, through pgOrSkip).
 */
export function sharedPostgres(): { readonly cluster: PgCluster | null } {
  const shared: { cluster: PgCluster | null } = { cluster: null };
  before(async () => {
    if (pgMissingReason() === null) shared.cluster = await startPostgres();
  });
  after(() => shared.cluster?.destroy());
  return shared;
}
