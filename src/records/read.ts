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
  let source: Readable;
  try {
    source = createReadStream(file);
    if (await isGzip(file)) source = source.pipe(createGunzip());
  } catch (err) {
    onBad({ file, line: 0, reason: `cannot read file (${(err as Error).message})` });
    return;
  }
  let streamError: Error | undefined;
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  // readline does not forward errors from a piped gunzip; record them and end the line stream.
  source.on('error', (err) => {
    streamError = err;
    lines.close();
  });
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
    const what = code === 'Z_BUF_ERROR' || /unexpected end/i.test(streamError.message) ? 'truncated or damaged gzip' : streamError.message;
    onBad({ file, line: n + 1, reason: `${what}; the ${n} lines before it were read` });
  }
}
