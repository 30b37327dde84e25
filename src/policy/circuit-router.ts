import { COMMON_ERRORS, json, READ_ERRORS, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes, type RouteTarget } from '../api/route.ts';
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

const name = CircuitNameSchema.describe('dependency name, e.g. npm or gha-cache');

/** /v1/circuits: circuit breakers pipelines share for their flaky dependencies (npm, caches, registries). */
export const CIRCUIT_ROUTES = routes({
  list: {
    method: 'get',
    path: '/v1/circuits',
    scope: 'report',
    query: CircuitListQuerySchema,
    doc: {
      operationId: 'listCircuits',
      summary: 'Known circuit breakers and their state, in name order, a page at a time',
      responses: { '200': json('CircuitList', 'one page of circuits and the cursor of the next'), ...READ_ERRORS },
    },
  },
  get: {
    method: 'get',
    path: '/v1/circuits/:name',
    scope: 'report',
    params: { name },
    doc: {
      operationId: 'getCircuit',
      summary: 'Shared circuit-breaker state of a dependency',
      responses: { '200': json('CircuitView', 'closed / open / half-open with the cooldown left'), ...READ_ERRORS },
    },
  },
  record: {
    method: 'post',
    path: '/v1/circuits/:name',
    scope: 'report',
    params: { name },
    body: { name: 'CircuitEvent', schema: CircuitEventSchema },
    doc: {
      operationId: 'recordCircuitEvent',
      summary: 'Report a success or failure, or ask for permission to call ("attempt"; half-open hands out one trial)',
      responses: { '200': json('CircuitView', 'the state after the event'), ...COMMON_ERRORS },
    },
  },
});

export interface CircuitRouterDeps {
  store: Store;
  config: CircuitSettings;
  /** A pipeline dependency's circuit just opened (alerting). */
  onOpen?: (view: CircuitView) => void;
}

/** Mounts the routes on `target` (src/app.ts mounts them on the app itself; a Router works as well). */
export function mountCircuitRoutes<R extends RouteTarget>(target: R, d: CircuitRouterDeps): R {
  const circuits = new CircuitService(d.store, d.config, Date.now, d.onOpen);
  return mountRoutes(target, CIRCUIT_ROUTES, {
    list: (_req, _res, { query: q }) => {
      // One more than asked for tells whether another page follows without a count over every circuit.
      const rows = circuits.list({ after: q.cursor, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      return {
        circuits: page,
        next_cursor: rows.length > q.limit ? encodeCircuitCursor(page[page.length - 1].name) : null,
      };
    },
    get: (_req, _res, { params }) => circuits.get(params.name),
    record: (_req, _res, { params, body }) => circuits.record(params.name, body.event),
  });
}

export function circuitOpenApi(): OpenApiExtras {
  return {
    schemas: { CircuitView: CircuitViewSchema, CircuitList: CircuitListSchema },
    ...describeRoutes(CIRCUIT_ROUTES),
  };
}
