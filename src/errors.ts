import type { z } from 'zod';

/**
 * A request a domain module refuses, said in the caller's terms: what kind of refusal, a stable code, a
 * message and the fields at fault. Services throw it without knowing about HTTP; the HTTP edge
 * (api/errors.ts) turns the kind into a status, so `canary/`, `serving/` and tenancy stay testable and
 * usable from the CLI without Express.
 */
export type RefusalKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'not_ready';

export interface RefusalDetail {
  path: string;
  message: string;
}

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    readonly code: string,
    message: string,
    readonly details?: RefusalDetail[],
    /** For `not_ready`: when to ask again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/** One detail per field: later issues on the same field are consequences of the first (e.g. an unparsable date is also "in the future"). */
export function zodDetails(err: z.ZodError, prefix: (string | number)[] = []): RefusalDetail[] {
  const seen = new Map<string, RefusalDetail>();
  for (const i of err.issues) {
    const parts = [...prefix, ...i.path.map(String)];
    const path = parts.length ? parts.join('.') : '(root)';
    if (!seen.has(path)) seen.set(path, { path, message: i.message });
  }
  return [...seen.values()];
}

/** A 400 for what only a service can check (a hook's metadata, a request built from another shape). */
export const invalidRequest = (err: z.ZodError, prefix: (string | number)[] = []): Refusal =>
  new Refusal('invalid', 'invalid_request', 'request failed validation', zodDetails(err, prefix));
