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
