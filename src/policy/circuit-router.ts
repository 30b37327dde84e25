import express, { type Router } from 'express';
import { requireScope } from '../api/auth.ts';
import { HttpError, zodDetails } from '../api/errors.ts';
import {
  body,
  COMMON_ERRORS,
  json,
  READ_ERRORS,
  secured,
  zodParameters,
  zodPathParam,
  type OpenApiExtras,
} from '../api/openapi.ts';
import { validateBody, validateParam } from '../api/validate.ts';
import type { Store } from '../store/types.ts';
import { CircuitService, type CircuitSettings, type CircuitView } from './circuit.ts';
import {
  CircuitEventSchema,
  CircuitListQuerySchema,
  CircuitListSchema,
  CircuitNameSchema,
  CircuitViewSchema,
  encodeCircuitCursor,
} from './circuit-schemas.ts';

export interface CircuitRouterDeps {
  store: Store;
  config: CircuitSettings;
  /** A pipeline dependency's circuit just opened (alerting). */
  onOpen?: (view: CircuitView) => void;
}

/** /v1/circuits: circuit breakers pipelines share for their flaky dependencies (npm, caches, registries). */
export function createCircuitRouter(d: CircuitRouterDeps): Router {
  const circuits = new CircuitService(d.store, d.config, Date.now, d.onOpen);
  const router = express.Router();
  router.get('/v1/circuits', requireScope('report'), (req, res) => {
    const q = CircuitListQuerySchema.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'invalid_request', 'invalid query', zodDetails(q.error, ['query']));
    // One more than asked for tells whether another page follows without a count over every circuit.
    const rows = circuits.list({ after: q.data.cursor, limit: q.data.limit + 1 });
    const page = rows.slice(0, q.data.limit);
    res.json({
      circuits: page,
      next_cursor: rows.length > q.data.limit ? encodeCircuitCursor(page[page.length - 1].name) : null,
    });
  });
  router.get('/v1/circuits/:name', requireScope('report'), validateParam('name', CircuitNameSchema), (req, res) => {
    res.json(circuits.get(String(req.params.name)));
  });
  router.post(
    '/v1/circuits/:name',
    requireScope('report'),
    validateParam('name', CircuitNameSchema),
    validateBody(CircuitEventSchema),
    (req, res) => {
      res.json(
        circuits.record(String(req.params.name), (req.body as { event: 'success' | 'failure' | 'attempt' }).event),
      );
    },
  );
  return router;
}

export function circuitOpenApi(): OpenApiExtras {
  const circuitParam = zodPathParam('name', CircuitNameSchema, 'dependency name, e.g. npm or gha-cache');
  return {
    schemas: { CircuitView: CircuitViewSchema, CircuitList: CircuitListSchema },
    requestSchemas: { CircuitEvent: CircuitEventSchema },
    paths: {
      '/v1/circuits': {
        get: {
          operationId: 'listCircuits',
          summary: 'Known circuit breakers and their state, in name order, a page at a time',
          ...secured('report'),
          parameters: zodParameters(CircuitListQuerySchema, 'query'),
          responses: { '200': json('CircuitList', 'one page of circuits and the cursor of the next'), ...READ_ERRORS },
        },
      },
      '/v1/circuits/{name}': {
        get: {
          operationId: 'getCircuit',
          summary: 'Shared circuit-breaker state of a dependency',
          ...secured('report'),
          parameters: [circuitParam],
          responses: { '200': json('CircuitView', 'closed / open / half-open with the cooldown left'), ...READ_ERRORS },
        },
        post: {
          operationId: 'recordCircuitEvent',
          summary:
            'Report a success or failure, or ask for permission to call ("attempt"; half-open hands out one trial)',
          ...secured('report'),
          parameters: [circuitParam],
          requestBody: body('CircuitEvent'),
          responses: { '200': json('CircuitView', 'the state after the event'), ...COMMON_ERRORS },
        },
      },
    },
  };
}
