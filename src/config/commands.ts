/**
 * The variables the CLI commands read beside the server's (config.ts) and the background's
 * (config/background.ts), read here so no command reaches into process.env. The values are passed on as
 * they were read before (no trimming or checks a command did not make), so each command behaves as it did.
 */

/** Variables only commands read; the rest they share with the server's table. */
export const COMMAND_ENV_VARS: Record<string, { default: string; help: string }> = {
  // Read by check.ts from the environment it is handed: it is bundled into the action without this module.
  RISKGATE_URL: { default: '(none)', help: 'risk service base URL `riskgate check` asks' },
  RISKGATE_API_KEY: {
    default: '(none)',
    help: 'bearer key `riskgate simulate-canary --url` and `riskgate check` send (the score scope)',
  },
};

/** Where the commands find the store and the registry: RISKGATE_DATA_DIR and RISKGATE_MODELS_DIR. */
export function commandDirs(env: NodeJS.ProcessEnv = process.env): { dataDir: string; modelsDir: string } {
  return { dataDir: env.RISKGATE_DATA_DIR ?? 'data', modelsDir: env.RISKGATE_MODELS_DIR ?? 'models' };
}

/** RISKGATE_DATABASE_URL, trimmed ('' when set to blanks, undefined when unset); store/open.ts checks it. */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.RISKGATE_DATABASE_URL?.trim();
}

export interface CommandSettings {
  /** RISKGATE_LOG_LEVEL for `riskgate worker` (pino rejects a bad one). */
  logLevel: string;
  /** RISKGATE_TIMEZONE for `riskgate train` and `backtest` unless --timezone says otherwise. */
  timezone: string | undefined;
  /** GITHUB_TOKEN for `riskgate ingest` (never printed). */
  githubToken: string | undefined;
  /** RISKGATE_API_KEY for `riskgate simulate-canary --url` (never printed). */
  apiKey: string | undefined;
  /** USER, the operator named in the audit log of `riskgate models` (the OS account name when unset). */
  user: string | undefined;
}

export function commandSettings(env: NodeJS.ProcessEnv = process.env): CommandSettings {
  return {
    logLevel: env.RISKGATE_LOG_LEVEL ?? 'info',
    timezone: env.RISKGATE_TIMEZONE,
    githubToken: env.GITHUB_TOKEN || undefined,
    apiKey: env.RISKGATE_API_KEY,
    user: env.USER,
  };
}

/**
 * The environment with a command's flags in place of the variables they override (`serve --port` is PORT,
 * `--workers` is RISKGATE_WORKERS), so the configuration is parsed once, from one place, either way.
 */
export function environmentWith(
  overrides: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  return out;
}
