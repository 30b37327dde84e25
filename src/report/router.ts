/**
 * HTTP access to the delivery reports. The app mounts it (pass `requireScope`: both routes need `score`) and supplies
 * the store; the router only validates queries, reads runs and calls the pure report functions.
 */
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError, zodDetails } from '../api/errors.ts';
import { READ_ERRORS, err, json, secured, zodParameters, type OpenApiExtras } from '../api/openapi.ts';
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

function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  // Repeated parameters (?repo=a&repo=b) arrive as arrays; the schema then reports them as not a string.
  const r = schema.safeParse(req.query);
  if (!r.success) throw new HttpError(400, 'invalid_request', 'invalid query', zodDetails(r.error, ['query']));
  return r.data;
}

function requireRepo(store: Store, name: string): void {
  if (!store.repos().includes(name))
    throw new HttpError(404, 'unknown_repo', `no runs stored for repo ${name}`, [
      { path: 'query.repo', message: 'unknown repo' },
    ]);
}

/**
 * `requireScope` (the API's, from src/api/auth.ts) guards both routes with the `score` scope, as the README
 * documents; without it the routes are unguarded (only for tests that mount the router on a bare app).
 */
export function createReportRouter({
  store,
  requireScope,
}: {
  store: Store;
  requireScope?: (scope: 'score') => RequestHandler;
}): Router {
  const router = Router();
  const score: RequestHandler = requireScope ? requireScope('score') : (_req, _res, next) => next();
  router.get('/v1/reports/dora', score, (req, res) => {
    const q = parseQuery(DoraQuerySchema, req);
    requireRepo(store, q.repo);
    res.json(computeDora(store.iterateRuns({ repo: q.repo }), { weeks: q.weeks, timezone: q.timezone }));
  });
  router.get('/v1/reports/flaky', score, (req, res) => {
    const q = parseQuery(FlakyQuerySchema, req);
    requireRepo(store, q.repo);
    const report = detectFlaky(store.iterateRuns({ repo: q.repo }));
    // Newest first and bounded: the list grows with history, the per-workflow rates stay small.
    res.json({
      repo: q.repo,
      total_flaky: report.flaky.length,
      flaky: report.flaky.slice(-q.limit).reverse(),
      workflows: report.workflows,
    });
  });
  return router;
}

/** The report routes' part of /openapi.json (components named Report…). */
export function reportOpenApi(): OpenApiExtras {
  const unknownRepo = err('unknown_repo: no runs stored for this repo');
  const note = 'Unknown query parameters are rejected (400).';
  return {
    schemas: { ReportDora: DoraReportSchema, ReportFlaky: FlakyReportSchema },
    paths: {
      '/v1/reports/dora': {
        get: {
          operationId: 'doraReport',
          summary:
            'DORA figures per week (deployment frequency, lead time, change failure rate, time to restore) from run history',
          description: note,
          ...secured('score'),
          parameters: zodParameters(DoraQuerySchema, 'query'),
          responses: { '200': json('ReportDora', 'weekly figures and totals'), ...READ_ERRORS, '404': unknownRepo },
        },
      },
      '/v1/reports/flaky': {
        get: {
          operationId: 'flakyReport',
          summary: 'Flaky runs (failed, then passed on a re-run) and per-workflow flakiness',
          description: note,
          ...secured('score'),
          parameters: zodParameters(FlakyQuerySchema, 'query'),
          responses: {
            '200': json('ReportFlaky', 'flaky runs, newest first, and rates per workflow'),
            ...READ_ERRORS,
            '404': unknownRepo,
          },
        },
      },
    },
  };
}
