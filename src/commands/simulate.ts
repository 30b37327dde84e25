import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { SIM_DEFAULTS, simulateHistory, type SimulateOptions } from '../simulate/history.ts';
import { parseCommandArgs, UsageError, usageText } from './args.ts';

export const summary =
  'Generate a realistic, seeded run history (JSONL) for demos, tests and the bundled default model';
export const help = `Usage: riskgate simulate [--seed N] [--repos N|owner/a,owner/b] [--runs N] [--start ISO] [--timezone TZ] [--out FILE]

Simulates a team's GitHub Actions history: broken-main streaks until a fix-up commit, risky lockfile and
CI-config changes, big changes, per-author skill, off-hours and Friday-afternoon risk, flaky tests that pass on
re-run, and infrastructure outages shared by all repos. The same options always give byte-identical output.
See docs/simulator.md for the mechanisms and their parameters.

Options:
  --seed N        PRNG seed (default ${SIM_DEFAULTS.seed})
  --repos N|LIST  number of repos, or comma-separated "owner/name" list (default ${SIM_DEFAULTS.repos})
  --runs N        run records per repo (default ${SIM_DEFAULTS.runsPerRepo})
  --start ISO     when the history starts (default ${SIM_DEFAULTS.start})
  --timezone TZ   IANA zone the team works in (default ${SIM_DEFAULTS.timezone})
  --out FILE      write to FILE (.jsonl, or .jsonl.gz to compress) instead of stdout

Exit codes: 0 written, 2 bad arguments, 1 failure.

Examples:
  riskgate simulate > history.jsonl
  riskgate simulate --seed 7 --repos 5 --runs 5000 --out data/sim.jsonl.gz
  riskgate simulate --repos acme/web,acme/api --start 2024-03-04T00:00:00Z --timezone Europe/Berlin
  riskgate simulate --out sim.jsonl.gz && riskgate import sim.jsonl.gz`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RangeError(`--${name}: must be a non-negative integer, got "${v}"`);
  return Number(v);
}

export function parseSimulateArgs(argv: string[]): { opts: SimulateOptions; out?: string } {
  const { values } = parseCommandArgs(argv, {
    options: {
      seed: { type: 'string' },
      repos: { type: 'string' },
      runs: { type: 'string' },
      start: { type: 'string' },
      timezone: { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
  });
  const repos =
    values.repos === undefined
      ? undefined
      : /^\d+$/.test(values.repos)
        ? Number(values.repos)
        : values.repos.split(',').map((s) => s.trim());
  if (values.out !== undefined && !/\.jsonl(\.gz)?$/.test(values.out))
    throw new RangeError(`--out: "${values.out}" must end in .jsonl or .jsonl.gz`);
  return {
    opts: {
      seed: int('seed', values.seed),
      repos,
      runsPerRepo: int('runs', values.runs),
      start: values.start,
      timezone: values.timezone,
    },
    out: values.out,
  };
}

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseSimulateArgs>;
  let runs: ReturnType<typeof simulateHistory>;
  try {
    parsed = parseSimulateArgs(argv);
    runs = simulateHistory(parsed.opts);
  } catch (err) {
    // parseCommandArgs throws UsageError for an unknown flag or argument; this file and the simulator throw
    // RangeError for bad values. Both are bad usage; anything else is a failure (exit 1).
    if (!(err instanceof UsageError || err instanceof RangeError)) throw err;
    console.error(usageText('simulate', (err as Error).message));
    return 2;
  }
  const lines = Readable.from(
    (function* () {
      for (const r of runs) yield JSON.stringify(r) + '\n';
    })(),
  );
  if (parsed.out === undefined) {
    try {
      await pipeline(lines, process.stdout, { end: false });
    } catch (err) {
      // `riskgate simulate | head` closes the pipe early; that is the reader's choice, not a failure.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
    return 0;
  }
  await mkdir(dirname(parsed.out), { recursive: true });
  const file = createWriteStream(parsed.out);
  if (parsed.out.endsWith('.gz')) await pipeline(lines, createGzip(), file);
  else await pipeline(lines, file);
  console.error(`wrote ${runs.length} run records to ${parsed.out}`);
  return 0;
}
