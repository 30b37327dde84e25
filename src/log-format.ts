import type { DestinationStream } from 'pino';

/**
 * A small pino destination for people: pino writes one JSON object a line with epoch-ms times, which is
 * right for log shippers and hard to read on a terminal (pino-pretty is not a dependency). Each line becomes
 * `HH:MM:SS.mmm LEVEL message key=value …` in local time, an error as its type and message with the stack
 * indented below. A line that is not JSON is passed through unchanged.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

export function formatLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return line;
  const t = typeof o.time === 'number' ? new Date(o.time) : new Date(String(o.time ?? ''));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = Number.isNaN(t.getTime())
    ? '--:--:--.---'
    : `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const level =
    typeof o.level === 'number' ? (LEVELS[o.level] ?? String(o.level)) : String(o.level ?? '').toUpperCase();
  const paint = (s: string) =>
    !color
      ? s
      : level === 'WARN'
        ? `\x1b[33m${s}\x1b[0m`
        : level === 'ERROR' || level === 'FATAL'
          ? `\x1b[31m${s}\x1b[0m`
          : s;
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  let out = `${time} ${paint(level.padEnd(5))} ${typeof o.msg === 'string' ? o.msg : ''}${fields.length ? ` ${fields.join(' ')}` : ''}`;
  const err = o.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object') {
    out += ` err=${value(`${err.type ?? 'Error'}: ${err.message ?? ''}`)}`;
    if (typeof err.stack === 'string')
      out +=
        '\n' +
        err.stack
          .split('\n')
          .slice(1)
          .map((l) => `    ${l.trim()}`)
          .join('\n');
  }
  return out;
}

/** pino's destination for the configured format: undefined keeps pino's own JSON stdout. */
export function logDestination(
  format: 'json' | 'pretty' | 'auto',
  out: NodeJS.WriteStream = process.stdout,
): DestinationStream | undefined {
  const pretty = format === 'pretty' || (format === 'auto' && out.isTTY === true);
  if (!pretty) return undefined;
  const color = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(chunk: string) {
      // pino writes whole lines; a chunk may hold several when it batches.
      for (const line of chunk.split('\n')) if (line) out.write(formatLine(line, color) + '\n');
    },
  };
}
