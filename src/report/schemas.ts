/**
 * Response contracts of the report routes (src/report/router.ts), for /openapi.json: what computeDora and
 * the flaky route return. The query schemas live in the router, which validates with them.
 */
import { z } from 'zod';

const WeekFigures = {
  deployments: z.number().int(),
  deployment_frequency_per_day: z.number(),
  lead_time_hours_p50: z.number().nullable(),
  change_failure_rate: z.number().nullable(),
  time_to_restore_hours_p50: z.number().nullable(),
  runs: z.number().int().describe('runs (final attempts) created in the period'),
  failures: z.number().int(),
  changes: z.number().int().describe('finished deployment-pipeline runs (the CFR denominator)'),
  failed_changes: z.number().int(),
  restores: z.number().int(),
};

export const DoraReportSchema = z.object({
  repo: z.string().nullable(),
  default_branch: z.string(),
  deploy_source: z.enum(['workflows', 'default_branch_pushes']),
  timezone: z.string(),
  weeks: z.array(z.object({ week_start: z.string(), ...WeekFigures })),
  totals: z.object({
    ...WeekFigures,
    weeks: z.number().int(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    open_incidents: z.array(z.object({ workflow: z.string(), since: z.string() })),
  }),
});

export const FlakyReportSchema = z.object({
  repo: z.string(),
  total_flaky: z.number().int().describe('flaky runs in the whole history (the list is capped at `limit`)'),
  flaky: z
    .array(
      z.object({
        repo: z.string(),
        workflow: z.string(),
        run_id: z.string(),
        head_sha: z.string().nullable(),
        head_branch: z.string().nullable(),
        created_at: z.string(),
        failed_attempt: z.number().int(),
        passed_attempt: z.number().int(),
      }),
    )
    .describe('runs that failed and then passed on a re-run, newest first'),
  workflows: z.array(
    z.object({
      repo: z.string(),
      workflow: z.string(),
      runs: z.number().int(),
      rerun_runs: z.number().int(),
      flaky_runs: z.number().int(),
      flaky_rate: z.number(),
    }),
  ),
});
