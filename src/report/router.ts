/**
 * HTTP access to the delivery reports. The app mounts it after authentication and supplies the store; the
 * router only validates queries, reads runs and calls the pure report functions.
 */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import { READ_ERRORS, err, json, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes } from '../api/route.ts';
import type { Scope } from '../config.ts';
import type { Store } from '../store/types.ts';
import { computeDora } from './dora.ts';
import { detectFlaky } from './flaky.ts';
import { DoraReportSchema, FlakyReportSchema } from './schemas.ts';

const repo = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"');
const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone, e.g. Europe/Berlin');

export const DoraQuerySchema = z.strictObject({
  repo,
  weeks: z.coerce.number().int().min(1).max(520).default(12),
  timezone: timezone.default('UTC'),
});
export const FlakyQuerySchema = z.strictObject({
  repo,
  limit: z.coerce.number().int().min(1).max(10_000).default(200),
});

function requireRepo(store: Store, name: string): void {
  if (!store.repos().includes(name))
    throw new HttpError(404, 'unknown_repo', `no runs stored for repo ${name}`, [
      { path: 'query.repo', message: 'unknown repo' },
    ]);
}

const unknownRepo = err('unknown_repo: no runs stored for this repo');
const note = 'Unknown query parameters are rejected (400).';

/** The report routes: both need the `score` scope, as the README documents. */
export const REPORT_ROUTES = routes({
  dora: {
    method: 'get',
    path: '/v1/reports/dora',
    scope: 'score',
    query: DoraQuerySchema,
    doc: {
      operationId: 'doraReport',
      summary:
        'DORA figures per week (deployment frequency, lead time, change failure rate, time to restore) from run history',
      description: note,
      responses: { '200': json('ReportDora', 'weekly figures and totals'), ...READ_ERRORS, '404': unknownRepo },
    },
  },
  flaky: {
    method: 'get',
    path: '/v1/reports/flaky',
    scope: 'score',
    query: FlakyQuerySchema,
    doc: {
      operationId: 'flakyReport',
      summary: 'Flaky runs (failed, then passed on a re-run) and per-workflow flakiness',
      description: note,
      responses: {
        '200': json('ReportFlaky', 'flaky runs, newest first, and rates per workflow'),
        ...READ_ERRORS,
        '404': unknownRepo,
      },
    },
  },
});

/**
 * Both routes need the `score` scope, as the README documents. `requireScope` replaces the check (default:
 * the API's, src/api/auth.ts, which answers 401 when no principal was authenticated); it cannot be left out.
 */
export function createReportRouter({
  store,
  requireScope,
}: {
  store: Store;
  requireScope?: (scope: Scope) => RequestHandler;
}): Router {
  return mountRoutes(
    Router(),
    REPORT_ROUTES,
    {
      dora: (_req, _res, { query: q }) => {
        requireRepo(store, q.repo);
        return computeDora(store.iterateRuns({ repo: q.repo }), { weeks: q.weeks, timezone: q.timezone });
      },
      flaky: (_req, _res, { query: q }) => {
        requireRepo(store, q.repo);
        const report = detectFlaky(store.iterateRuns({ repo: q.repo }));
        // Newest first and bounded: the list grows with history, the per-workflow rates stay small.
        return {
          repo: q.repo,
          total_flaky: report.flaky.length,
          flaky: report.flaky.slice(-q.limit).reverse(),
          workflows: report.workflows,
        };
      },
    },
    { requireScope },
  );
}

/** The report routes' part of /openapi.json (components named Report…). */
export function reportOpenApi(): OpenApiExtras {
  return {
    schemas: { ReportDora: DoraReportSchema, ReportFlaky: FlakyReportSchema },
    ...describeRoutes(REPORT_ROUTES),
  };
}
