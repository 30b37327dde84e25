/**
 * GitHub Actions workflow commands (`::warning::…`, `::error::…`, `::notice::…`) written to stderr/stdout.
 * The runner parses one command per line, so a message with a newline would end it early and could start a
 * command of its own (a server's error text, a git message). Escaped exactly as actions/toolkit does it:
 * packages/core/src/command.ts escapeData / escapeProperty (read at 4b9afa4); the runner undoes it in
 * src/Runner.Common/ActionCommand.cs UnescapeData / UnescapeProperty (actions/runner 258d6c8).
 */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export type CommandName = 'notice' | 'warning' | 'error' | 'debug';

/** One workflow command line, e.g. `::warning title=riskgate::no answer (…)`. */
export function workflowCommand(name: CommandName, message: string, props: Record<string, string> = {}): string {
  const p = Object.entries(props)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',');
  return `::${name}${p ? ` ${p}` : ''}::${escapeData(message)}`;
}
