import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RunRecordSchema, describeZodError, type RunRecord } from './schema.ts';

export interface BadLine {
  file: string;
  /** 1-based line number; 0 when the problem is the file itself (unreadable, truncated archive). */
  line: number;
  reason: string;
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Parses one JSONL line into a validated record, or a reason it is bad. */
export function parseRunLine(text: string): { record: RunRecord } | { reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { reason: `not valid JSON (${(err as Error).message})` };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { reason: 'not a JSON object' };
  const parsed = RunRecordSchema.safeParse(raw);
  return parsed.success ? { record: parsed.data } : { reason: describeZodError(parsed.error) };
}

/**
 * Streams the canonical records of a `.jsonl` or `.jsonl.gz` file (gzip is recognised by its magic bytes).
 * Every bad line is reported and skipped; a truncated archive is reported once and everything before the
 * damage is still delivered, so one bad file never costs the good lines.
 */
export async function* readRunFile(file: string, onBad: (b: BadLine) => void): AsyncGenerator<RunRecord> {
  // Open (and sniff) the file before making a read stream: a stream made first for a missing file emitted
  // its own ENOENT later with no listener, and `riskgate import` died with "Unhandled 'error' event".
  let gzip: boolean;
  try {
    gzip = await isGzip(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'is a folder'
          : e.code === 'EACCES'
            ? 'permission denied'
            : e.message;
    onBad({ file, line: 0, reason: `cannot read file (${why})` });
    return;
  }
  const raw = createReadStream(file);
  const source: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  let streamError: Error | undefined;
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  // readline does not forward errors from a piped gunzip (nor pipe() from the file); record them and end the line stream.
  const onError = (err: Error) => {
    streamError ??= err;
    lines.close();
  };
  source.on('error', onError);
  if (raw !== source) raw.on('error', onError);
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      const res = parseRunLine(text);
      if ('record' in res) yield res.record;
      else onBad({ file, line: n, reason: res.reason });
    }
  } catch (err) {
    streamError ??= err as Error;
  }
  if (streamError) {
    const code = (streamError as NodeJS.ErrnoException).code;
    const what =
      code === 'Z_BUF_ERROR' || /unexpected end/i.test(streamError.message)
        ? 'truncated or damaged gzip'
        : streamError.message;
    onBad({ file, line: n + 1, reason: `${what}; the ${n} lines before it were read` });
  }
}
