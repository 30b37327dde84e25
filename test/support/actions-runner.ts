/**
 * The GitHub Actions runner's side of workflow commands and file commands, ported line by line from
 * actions/runner at 258d6c857db3519913f7deb6004b60172f8043ae:
 * src/Runner.Common/ActionCommand.cs (TryParseV2, UnescapeData, UnescapeProperty) and
 * src/Runner.Worker/FileCommandManager.cs (EnvFileKeyValuePairs, ReadLine; Linux, LF line ends).
 */
// ---- actions/runner src/Runner.Common/ActionCommand.cs @258d6c8: TryParseV2, UnescapeData, UnescapeProperty ----
const dataMappings: [string, string][] = [
  ['\r', '%0D'],
  ['\n', '%0A'],
  ['%', '%25'],
];
const propertyMappings: [string, string][] = [
  ['\r', '%0D'],
  ['\n', '%0A'],
  [':', '%3A'],
  [',', '%2C'],
  ['%', '%25'],
];
const unescapeWith = (m: [string, string][], s: string) =>
  m.reduce((acc, [token, rep]) => acc.split(rep).join(token), s);
export function runnerTryParseV2(
  message: string,
  registered: Set<string>,
): { command: string; properties: Record<string, string>; data: string } | null {
  if (!message) return null;
  message = message.replace(/^\s+/, ''); // TrimStart
  if (!message.startsWith('::')) return null;
  const endIndex = message.indexOf('::', 2);
  if (endIndex < 0) return null;
  const cmdInfo = message.substring(2, endIndex);
  const spaceIndex = cmdInfo.indexOf(' ');
  const commandName = spaceIndex < 0 ? cmdInfo : cmdInfo.substring(0, spaceIndex);
  if (!registered.has(commandName)) return null;
  const properties: Record<string, string> = {};
  if (spaceIndex > 0) {
    for (const propertyStr of cmdInfo
      .substring(spaceIndex + 1)
      .trim()
      .split(',')
      .filter((x) => x !== '')) {
      const eq = propertyStr.indexOf('=');
      const pair = (eq < 0 ? [propertyStr] : [propertyStr.slice(0, eq), propertyStr.slice(eq + 1)]).filter(
        (x) => x !== '',
      );
      if (pair.length === 2) properties[pair[0].toLowerCase()] = unescapeWith(propertyMappings, pair[1]);
    }
  }
  return { command: commandName, properties, data: unescapeWith(dataMappings, message.substring(endIndex + 2)) };
}
/** The runner reads a step's output line by line; each line may be a command. */
export const runnerCommands = (stream: string) =>
  stream
    .split('\n')
    .map((l) => runnerTryParseV2(l.replace(/\r$/, ''), new Set(['warning', 'error', 'notice', 'debug'])))
    .filter((c) => c !== null);

// ---- actions/runner src/Runner.Worker/FileCommandManager.cs @258d6c8: EnvFileKeyValuePairs (Linux: LF lines) ----
function runnerReadLine(text: string, st: { index: number }): { line: string | null; newline: string | null } {
  if (st.index >= text.length) return { line: null, newline: null };
  const original = st.index;
  const lf = text.indexOf('\n', st.index);
  if (lf < 0) {
    st.index = text.length;
    return { line: text.substring(original), newline: null };
  }
  st.index = lf + 1;
  return { line: text.substring(original, lf), newline: '\n' };
}
export function runnerParseFileCommand(text: string): [string, string][] {
  const out: [string, string][] = [];
  const st = { index: 0 };
  let line = runnerReadLine(text, st).line;
  while (line !== null) {
    if (line !== '') {
      let key: string;
      let output: string;
      const equalsIndex = line.indexOf('=');
      const heredocIndex = line.indexOf('<<');
      if (equalsIndex >= 0 && (heredocIndex < 0 || equalsIndex < heredocIndex)) {
        key = line.slice(0, equalsIndex);
        output = line.slice(equalsIndex + 1);
      } else if (heredocIndex >= 0 && (equalsIndex < 0 || heredocIndex < equalsIndex)) {
        key = line.slice(0, heredocIndex);
        const delimiter = line.slice(heredocIndex + 2);
        if (!key || !delimiter)
          throw new Error(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`);
        const startIndex = st.index;
        let endIndex = st.index;
        let t = runnerReadLine(text, st);
        while (t.line !== delimiter) {
          if (t.line === null) throw new Error(`Invalid value. Matching delimiter not found '${delimiter}'`);
          if (t.newline === null) throw new Error('Invalid value. EOF marker missing new line.');
          endIndex = st.index - t.newline.length;
          t = runnerReadLine(text, st);
        }
        output = endIndex > startIndex ? text.substring(startIndex, endIndex) : '';
      } else throw new Error(`Invalid format '${line}'`);
      out.push([key, output]);
    }
    line = runnerReadLine(text, st).line;
  }
  return out;
}
