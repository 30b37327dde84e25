import type { RequestHandler } from 'express';
import type { Principal } from '../api/auth.ts';
import { COMMON_ERRORS, json, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes, type RouteTarget } from '../api/route.ts';
import type { RunRecord } from '../records/schema.ts';
import {
  OutcomeRequestSchema,
  OutcomeResponseSchema,
  outcomeSchemaFor,
  RiskRequestSchema,
  RiskResponseSchema,
} from './schemas.ts';
import type { RiskService } from './service.ts';

/** The pre-build risk check and the outcomes that close the loop. */
export const SERVING_ROUTES = routes({
  risk: {
    method: 'post',
    path: '/v1/risk',
    scope: 'score',
    body: { name: 'RiskRequest', schema: RiskRequestSchema },
    doc: {
      operationId: 'assessRisk',
      summary: 'Pre-build risk check',
      responses: {
        '200': json('RiskResponse', 'probability, risk level, factors and the policy to apply'),
        ...COMMON_ERRORS,
      },
    },
  },
  outcomes: {
    method: 'post',
    path: '/v1/outcomes',
    scope: 'report',
    body: { name: 'OutcomeRequest', schema: OutcomeRequestSchema, select: outcomeSchemaFor },
    doc: {
      operationId: 'recordOutcomes',
      summary: 'Record finished runs (idempotent); history features update at once',
      responses: {
        '200': json('OutcomeResponse', 'how many records were new, changed or already known'),
        ...COMMON_ERRORS,
      },
    },
  },
});

export interface ServingRouterDeps {
  service: RiskService;
  /**
   * The instant a risk request without `created_at` is judged at (epoch ms). Policy windows (Fri 16:00-24:00,
   * Mon 00:00-09:00) depend on it, so tests pin it to fixed instants instead of the hour they run at.
   */
  clock: () => number;
  log: { warn(o: object, m?: string): void };
}

/** Mounts the routes on `target` (src/app.ts mounts them on the app itself; a Router works as well). */
export function mountServingRoutes<R extends RouteTarget>(target: R, d: ServingRouterDeps): R {
  const stampNow: RequestHandler = (req, _res, next) => {
    const b: unknown = req.body;
    if (b && typeof b === 'object' && !Array.isArray(b) && (b as { created_at?: unknown }).created_at == null)
      (b as { created_at: string }).created_at = new Date(d.clock()).toISOString();
    next();
  };
  return mountRoutes(target, SERVING_ROUTES, {
    risk: {
      before: [stampNow],
      handler: (_req, res, { body }) => {
        const id = res.locals.requestId as string;
        // Warnings from scoring are rare; they carry the request id.
        const warnLog = { warn: (o: object, m?: string) => d.log.warn({ ...o, req_id: id }, m) };
        return d.service.check(body, id, warnLog);
      },
    },
    outcomes: (_req, res, { body }) => {
      const b = body as RunRecord | { runs: RunRecord[] };
      return d.service.recordOutcomes(res.locals.principal as Principal, 'runs' in b ? b.runs : [b]);
    },
  });
}

export function servingOpenApi(): OpenApiExtras {
  return {
    schemas: { RiskResponse: RiskResponseSchema, OutcomeResponse: OutcomeResponseSchema },
    ...describeRoutes(SERVING_ROUTES),
  };
}
