import { z } from 'zod';

/** Request and response contracts of the shared circuit breakers (/v1/circuits). */
export const CircuitNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 characters of letters, digits, "_", ".", ":" or "-"');

/**
 * Paging for GET /v1/circuits (issue 16.7: 50k circuits were one 10.6 MB answer). The cursor is opaque to
 * clients (base64url of the last name served) and is checked to decode to a circuit name.
 */
export const encodeCircuitCursor = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');
export const CircuitListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('circuits per page (1-1000, default 100)'),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a next_cursor from a previous page')
    .transform((c, ctx) => {
      const name = Buffer.from(c, 'base64url').toString('utf8');
      if (!CircuitNameSchema.safeParse(name).success) {
        ctx.addIssue({ code: 'custom', message: 'must be a next_cursor from a previous page' });
        return z.NEVER;
      }
      return name;
    })
    .optional()
    .describe('next_cursor of the previous page; omit for the first'),
});

export const CircuitEventSchema = z.object({
  event: z
    .enum(['success', 'failure', 'attempt'])
    .describe('success/failure: the outcome of a call to the dependency; attempt: ask whether a call may go ahead now'),
});

export const CircuitViewSchema = z.object({
  name: z.string(),
  state: z.enum(['closed', 'open', 'half-open']),
  consecutive_failures: z.number().int().min(0),
  failure_threshold: z.number().int().min(1),
  cooldown_ms: z.number().int().min(0),
  cooldown_remaining_ms: z.number().int().min(0),
  trial_in_flight: z.boolean(),
  allowed: z
    .boolean()
    .describe(
      'whether a call to the dependency may go ahead now (for "attempt": whether this caller got the go-ahead)',
    ),
  updated_at: z.string().nullable(),
});

export const CircuitListSchema = z.object({
  circuits: z.array(CircuitViewSchema),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});
