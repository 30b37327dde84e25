#!/usr/bin/env node
/**
 * The `riskgate` entry point. Each command lives in src/commands/<name>.ts and exports
 * `help` (usage text with examples) and `run(argv): Promise<number>` (the exit code).
 * Commands load lazily so `riskgate check` in a CI step does not pay for TensorFlow or SQLite.
 */
import { pathToFileURL } from 'node:url';
import { UsageError, usageText } from './commands/args.ts';

export interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: () => import('./commands/serve.ts'),
  import: () => import('./commands/import.ts'),
  ingest: () => import('./commands/ingest.ts'),
  train: () => import('./commands/train.ts'),
  backtest: () => import('./commands/backtest.ts'),
  check: () => import('./commands/check.ts'),
  simulate: () => import('./commands/simulate.ts'),
  'simulate-canary': () => import('./commands/simulate-canary.ts'),
  report: () => import('./commands/report.ts'),
  jobs: () => import('./commands/jobs.ts'),
  worker: () => import('./commands/worker.ts'),
  models: () => import('./commands/models.ts'),
  'migrate-store': () => import('./commands/migrate-store.ts'),
};

async function usage(): Promise<string> {
  const lines = ['Usage: riskgate <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      lines.push(`  ${name.padEnd(16)} ${(await load()).summary}`);
    } catch {
      /* a command whose module is missing is simply not listed */
    }
  }
  lines.push('', 'Run `riskgate <command> --help` for options and examples.');
  lines.push(
    'Exit codes: 0 done, 1 the work failed, 2 bad usage or bad input, 3 not found (e.g. an unknown model id).',
  );
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`riskgate: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(usageText(name, err.message));
    return 2;
  }
}

/** Runs a command and sets the exit code; bin/riskgate.mjs calls this, whatever path or link started it. */
export async function runMain(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    console.error(`riskgate: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

// `node --import tsx src/cli.ts …` (npm run riskgate) starts here directly; links and the bin go through runMain.
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) void runMain(process.argv.slice(2));
