import { appendFileSync } from 'node:fs';
import type { Policy } from '../policy/types.ts';
import type { RiskResponse } from '../serving/schemas.ts';

/**
 * What `riskgate check` hands to the rest of the workflow: step outputs ($GITHUB_OUTPUT), environment for
 * later steps ($GITHUB_ENV) and a readable job summary ($GITHUB_STEP_SUMMARY). Pure formatting here; the
 * command appends the strings to the files.
 */
export interface CheckResult {
  /** null when the service could not answer and the standard policy is applied (fail-open). */
  response: RiskResponse | null;
  policy: Policy;
  warning?: string;
}

export function outputsOf(r: CheckResult): Record<string, string> {
  const p = r.policy;
  const res = r.response;
  return {
    risk_level: res?.risk_level ?? 'unknown',
    probability: res ? res.probability.toFixed(4) : '',
    max_attempts: String(p.retry.max_attempts),
    base_delay_ms: String(p.retry.base_delay_ms),
    max_delay_ms: String(p.retry.max_delay_ms),
    jitter: String(p.retry.jitter),
    strategy: p.strategy.name,
    mitigations: p.mitigations.map((m) => m.action).join(','),
    mitigation_reasons: p.mitigations.map((m) => `${m.action}: ${m.reason}`).join('\n'),
    degraded: String(res?.degraded ?? true),
    fail_open: String(res === null),
    model: res?.model ? `${res.model.id}@${res.model.version}` : '',
    policy: JSON.stringify(p),
  };
}

/**
 * Which of the server's strategy variables may go into $GITHUB_ENV. Every later step of the job runs with them,
 * so a wrong or hostile answer must not set the likes of BASH_ENV or NODE_OPTIONS (code execution in later
 * steps), PATH, or the runner's own GITHUB_* / RUNNER_* / ACTIONS_* variables. Riskgate's policies only use
 * upper-case flag names (EXTRA_RETRIES, PARALLEL_BUILDS, …).
 */
export function allowedEnvName(name: string): boolean {
  return (
    /^[A-Z][A-Z0-9_]{0,63}$/.test(name) &&
    !/^(GITHUB_|RUNNER_|ACTIONS_|INPUT_|STATE_|RISKGATE_|NODE_|NPM_CONFIG_|LD_|DYLD_)/.test(name) &&
    !BLOCKED_ENV.has(name)
  );
}
const BLOCKED_ENV = new Set([
  'PATH',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'HOME',
  'CI',
  'JAVA_TOOL_OPTIONS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'RUBYOPT',
  'GIT_SSH_COMMAND',
  'GIT_CONFIG_GLOBAL',
]);

export function envOf(r: CheckResult): Record<string, string> {
  const p = r.policy;
  return {
    ...Object.fromEntries(Object.entries(p.strategy.env).filter(([k]) => allowedEnvName(k))),
    RISKGATE_RISK_LEVEL: r.response?.risk_level ?? 'unknown',
    RISKGATE_STRATEGY: p.strategy.name,
    RISKGATE_MAX_ATTEMPTS: String(p.retry.max_attempts),
    RISKGATE_BASE_DELAY_MS: String(p.retry.base_delay_ms),
    RISKGATE_MAX_DELAY_MS: String(p.retry.max_delay_ms),
    RISKGATE_JITTER: String(p.retry.jitter),
  };
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function summaryOf(r: CheckResult): string {
  const res = r.response;
  const p = r.policy;
  const lines = ['### Riskgate pre-build check', ''];
  if (r.warning) lines.push(`> ⚠️ ${esc(r.warning)}`, '');
  if (res) {
    lines.push(
      `**Risk: ${res.risk_level}** (probability ${(res.probability * 100).toFixed(1)} %)` +
        (res.model ? ` · model \`${res.model.id}\` (${res.model.kind})` : '') +
        (res.degraded ? ' · degraded: rule-based fallback' : ''),
      '',
    );
  } else lines.push('**Risk: unknown** · the standard policy applies (fail-open)', '');
  lines.push(
    `**Strategy: ${p.strategy.name}** — ${esc(p.strategy.reasons.join('; '))}`,
    '',
    `**Retries:** up to ${p.retry.max_attempts} attempts, backoff ${p.retry.base_delay_ms} ms → ${p.retry.max_delay_ms} ms, jitter ${p.retry.jitter}`,
    '',
  );
  if (p.mitigations.length) {
    lines.push('| Mitigation | Why |', '| --- | --- |');
    for (const m of p.mitigations) lines.push(`| \`${m.action}\` | ${esc(m.reason)} |`);
    lines.push('');
  }
  if (res?.factors.length) {
    lines.push('| Factor | Value | Contribution |', '| --- | ---: | ---: |');
    for (const f of res.factors)
      lines.push(
        `| ${esc(f.feature)} | ${f.value ?? 'n/a'} | ${f.contribution >= 0 ? '+' : ''}${f.contribution.toFixed(3)} |`,
      );
    lines.push('');
  }
  return lines.join('\n') + '\n';
}

// The global Web Crypto (Node >= 19, and 20 here): node:crypto loads only when a multi-line value needs a
// delimiter, not at every start of the CI client.
const uuid = (): string => globalThis.crypto.randomUUID();

/** GitHub's file-command format: `name=value`, or a heredoc with a random delimiter for multi-line values. */
export function formatFileCommand(entries: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(entries)) {
    // "<" too: the runner reads `a<<b=…` as a heredoc header (FileCommandManager.cs: "<<" before "=").
    if (!name || /[=<\r\n]/.test(name)) throw new Error(`invalid output name ${JSON.stringify(name)}`);
    if (/[\r\n]/.test(value)) {
      let delim = `ghadelimiter_${uuid()}`;
      while (value.includes(delim)) delim = `ghadelimiter_${uuid()}`;
      out += `${name}<<${delim}\n${value}\n${delim}\n`;
    } else out += `${name}=${value}\n`;
  }
  return out;
}

/** Parses the file-command format back (used by tests and by anyone debugging an output file). */
export function parseFileCommand(text: string): Record<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const here = /^([^=<]+)<<(.+)$/.exec(line);
    if (here) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== here[2]) body.push(lines[i]);
      out.set(here[1], body.join('\n'));
    } else {
      const eq = line.indexOf('=');
      out.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return Object.fromEntries(out);
}

export function writeGithubFiles(r: CheckResult, env: NodeJS.ProcessEnv): string[] {
  const written: string[] = [];
  const files: [string, () => string][] = [
    ['GITHUB_OUTPUT', () => formatFileCommand(outputsOf(r))],
    ['GITHUB_ENV', () => formatFileCommand(envOf(r))],
    ['GITHUB_STEP_SUMMARY', () => summaryOf(r)],
  ];
  for (const [name, text] of files) {
    const file = env[name];
    if (!file) continue;
    appendFileSync(file, text());
    written.push(name);
  }
  return written;
}

/**
 * The outputs as environment lines for CI systems without GitHub's files: every output as RISKGATE_<NAME>
 * (mitigation_reasons joined with "; ", since dotenv values are one line) and the strategy's variables.
 * GitLab's `artifacts: reports: dotenv` takes this file as is; a shell reads it line by line.
 */
export function dotenvOf(r: CheckResult): Record<string, string> {
  const out: Record<string, string> = { ...envOf(r) };
  for (const [k, v] of Object.entries(outputsOf(r))) out[`RISKGATE_${k.toUpperCase()}`] = v;
  // One line each, the server's strategy variables included.
  for (const k of Object.keys(out)) out[k] = out[k].replace(/\r?\n|\r/g, '; ');
  return out;
}

export function formatDotenv(entries: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(entries)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /[\r\n]/.test(value))
      throw new Error(`not a dotenv line: ${JSON.stringify(name)}`);
    out += `${name}=${value}\n`;
  }
  return out;
}
