import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Exit codes every command uses (`riskgate --help` lists them): 0 done, 1 the work failed, 2 bad usage or
 * bad input (an unknown flag, a bad value, bad lines in a file), 3 the thing named does not exist.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

/**
 * Thrown for bad command-line usage; the CLI prints it (usageText) and exits 2. Here, not in shared.ts, so
 * that check.ts, which the action bundles, gets it without the store code shared.ts imports.
 */
export class UsageError extends Error {}

/** How every command reports bad usage: one line naming the command and the problem, then where help is. */
export function usageText(command: string, message: string): string {
  return `riskgate ${command}: ${message}\n\nRun \`riskgate ${command} --help\` for usage.`;
}

/**
 * node:util's parseArgs for a command: an unknown flag or a missing value becomes a UsageError, which the
 * CLI prints as one line (naming the command and pointing at --help) and exits 2. Before this each command
 * wrapped parseArgs itself, and four (backtest, import, serve, train) did not, so a typo threw a
 * TypeError and exited 1 with a stack trace.
 */
export function parseCommandArgs<const T extends Omit<ParseArgsConfig, 'args' | 'strict'>>(
  argv: string[],
  config: T,
): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> {
  try {
    return parseArgs({ ...config, args: argv, strict: true } as T & { args: string[]; strict: true });
  } catch (err) {
    if (
      typeof (err as NodeJS.ErrnoException).code === 'string' &&
      (err as NodeJS.ErrnoException).code!.startsWith('ERR_PARSE_ARGS')
    )
      throw new UsageError((err as Error).message);
    throw err;
  }
}
