/**
 * Entry point of the CI client bundle (action/dist/index.cjs, built by scripts/build-action.mjs from the same
 * runCheck as `riskgate check`): one file, no node_modules, run by whatever Node the CI machine has.
 *
 * - As the GitHub Action (`runs.using: node24`, `main: action/dist/index.cjs`) it gets no arguments and reads
 *   its inputs from INPUT_<NAME> variables, named as the runner names them (upper case, spaces to "_",
 *   hyphens kept: INPUT_API-KEY; actions/toolkit packages/core/src/core.ts getInput).
 * - Anywhere else (GitLab CI, a shell) it takes `riskgate check`'s arguments: `node index.cjs check --dotenv …`.
 */
import { runCheck } from '../commands/check.ts';

const input = (env: NodeJS.ProcessEnv, name: string): string =>
  (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();

/** The action's inputs as `riskgate check` arguments (the same as the composite action's bash used to build). */
export function argvFromInputs(env: NodeJS.ProcessEnv): string[] {
  const args: string[] = [];
  const timeout = input(env, 'timeout');
  if (timeout) args.push('--timeout', timeout);
  const url = input(env, 'url');
  if (url) args.push('--url', url);
  const key = input(env, 'api-key');
  if (key) args.push('--api-key', key);
  if (input(env, 'fail-closed') === 'true') args.push('--fail-closed');
  const base = input(env, 'base');
  if (base) args.push('--base', base);
  for (const line of input(env, 'service-health').split('\n'))
    if (line.trim()) args.push('--service-health', line.trim());
  const outcome = input(env, 'report-outcome');
  if (outcome) args.push('--report-outcome', outcome);
  // Extra arguments are split on whitespace, as the composite action's bash did.
  const extra = input(env, 'args');
  if (extra) args.push(...extra.split(/\s+/));
  return args;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.length === 0) return runCheck(argvFromInputs(env), env);
  if (argv[0] === 'check') argv = argv.slice(1);
  if (argv[0] === '--help' || argv[0] === '-h') {
    const { help } = await import('../commands/check.ts');
    console.log(help.replace(/riskgate check/g, 'node riskgate-check.cjs check'));
    return 0;
  }
  return runCheck(argv, env);
}

main(process.argv.slice(2), process.env).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`riskgate: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
