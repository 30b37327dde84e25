import { z } from 'zod';
import { ModelInfoSchema } from '../serving/schemas.ts';

/** Contracts of the HTTP plumbing itself: the one error shape and /health. Domain routes keep theirs in their module. */
export const ErrorSchema = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  request_id: z.string().optional(),
});

export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'unavailable']),
  ready: z.boolean(),
  degraded: z.boolean(),
  started_at: z.string(),
  uptime_s: z.number(),
  model: ModelInfoSchema.extend({ loaded_at: z.string() }).nullable(),
  store: z.object({
    ok: z.boolean(),
    error: z.string().optional(),
    writable: z
      .boolean()
      .optional()
      .describe('false while writes fail (disk full, read-only); risk checks are still answered'),
    write_error: z.string().optional(),
    write_failing_since: z.string().optional(),
  }),
  dependencies: z
    .record(
      z.string(),
      z.object({
        healthy: z.boolean(),
        state: z.enum(['closed', 'open', 'half-open']),
        consecutive_failures: z.number(),
        opened_at: z.string().nullable(),
      }),
    )
    .optional()
    .describe("Riskgate's own dependencies (the GitHub ingest's circuit)"),
});
