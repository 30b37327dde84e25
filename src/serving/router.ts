import express, { type RequestHandler, type Router } from 'express';
import { requireScope, type Principal } from '../api/auth.ts';
import { body, COMMON_ERRORS, json, secured, type OpenApiExtras } from '../api/openapi.ts';
import { validateBody } from '../api/validate.ts';
import type { RunRecord } from '../records/schema.ts';
import {
  FinishedRunSchema,
  OutcomeBatchSchema,
  OutcomeRequestSchema,
  OutcomeResponseSchema,
  outcomeSchemaFor,
  RiskRequestSchema,
  RiskResponseSchema,
  type RiskRequest,
} from './schemas.ts';
import type { RiskService } from './service.ts';

export interface ServingRouterDeps {
  service: RiskService;
  /**
   * The instant a risk request without `created_at` is judged at (epoch ms). Policy windows (Fri 16:00-24:00,
   * Mon 00:00-09:00) depend on it, so tests pin it to fixed instants instead of the hour they run at.
   */
  clock: () => number;
  log: { warn(o: object, m?: string): void };
}

/** POST /v1/risk (the pre-build check) and POST /v1/outcomes (finished runs closing the loop). */
export function createServingRouter(d: ServingRouterDeps): Router {
  const router = express.Router();
  const stampNow: RequestHandler = (req, _res, next) => {
    const b: unknown = req.body;
    if (b && typeof b === 'object' && !Array.isArray(b) && (b as { created_at?: unknown }).created_at == null)
      (b as { created_at: string }).created_at = new Date(d.clock()).toISOString();
    next();
  };
  router.post('/v1/risk', requireScope('score'), stampNow, validateBody(RiskRequestSchema), async (req, res) => {
    const id = res.locals.requestId as string;
    // Warnings from scoring are rare; they carry the request id.
    const warnLog = { warn: (o: object, m?: string) => d.log.warn({ ...o, req_id: id }, m) };
    res.json(await d.service.check(req.body as RiskRequest, id, warnLog));
  });

  const outcomeValidators = new Map(
    [FinishedRunSchema, OutcomeBatchSchema].map((sch) => [sch as unknown, validateBody(sch)]),
  );
  const validateOutcome: RequestHandler = (req, res, next) =>
    outcomeValidators.get(outcomeSchemaFor(req.body))!(req, res, next);
  router.post('/v1/outcomes', requireScope('report'), validateOutcome, (req, res) => {
    const b = req.body as RunRecord | { runs: RunRecord[] };
    res.json(d.service.recordOutcomes(res.locals.principal as Principal, 'runs' in b ? b.runs : [b]));
  });
  return router;
}

export function servingOpenApi(): OpenApiExtras {
  return {
    schemas: { RiskResponse: RiskResponseSchema, OutcomeResponse: OutcomeResponseSchema },
    requestSchemas: { RiskRequest: RiskRequestSchema, OutcomeRequest: OutcomeRequestSchema },
    paths: {
      '/v1/risk': {
        post: {
          operationId: 'assessRisk',
          summary: 'Pre-build risk check',
          ...secured('score'),
          requestBody: body('RiskRequest'),
          responses: {
            '200': json('RiskResponse', 'probability, risk level, factors and the policy to apply'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/outcomes': {
        post: {
          operationId: 'recordOutcomes',
          summary: 'Record finished runs (idempotent); history features update at once',
          ...secured('report'),
          requestBody: body('OutcomeRequest'),
          responses: {
            '200': json('OutcomeResponse', 'how many records were new, changed or already known'),
            ...COMMON_ERRORS,
          },
        },
      },
    },
  };
}
