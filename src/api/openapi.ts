import { z } from 'zod';
import {
  CircuitEventSchema,
  CircuitViewSchema,
  ErrorSchema,
  HealthSchema,
  OutcomeRequestSchema,
  OutcomeResponseSchema,
  RiskRequestSchema,
  RiskResponseSchema,
} from './schemas.ts';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests, so the
 * documentation cannot drift from what the server accepts. Requests are rendered as their input side
 * (what a client sends), responses as their output side.
 */
type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete s.$schema;
  return s;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const err = (description: string) => json('Error', description);

const COMMON_ERRORS = {
  '400': err('invalid_request / invalid_json: the body or a parameter is invalid; details name the field path'),
  '401': err('unauthorized: missing or unknown API key'),
  '403': err('forbidden: the key lacks the required scope'),
  '413': err('payload_too_large: body over 1 MB'),
  '415': err('unsupported_media_type: body is not JSON'),
  '429': err('rate_limited: too many requests for this key; see Retry-After'),
  '503': err('store_unavailable or not_ready: retry later; see Retry-After'),
};

export interface OpenApiExtras {
  /** Extra component schemas (e.g. the canary router's), rendered as output schemas. */
  schemas?: Record<string, z.ZodType>;
  paths?: Record<string, unknown>;
}

export function buildOpenApi(extras: OpenApiExtras = {}): Json {
  const schemas: Record<string, Json> = {
    RiskRequest: jsonSchema(RiskRequestSchema, 'input'),
    RiskResponse: jsonSchema(RiskResponseSchema, 'output'),
    OutcomeRequest: jsonSchema(OutcomeRequestSchema, 'input'),
    OutcomeResponse: jsonSchema(OutcomeResponseSchema, 'output'),
    CircuitEvent: jsonSchema(CircuitEventSchema, 'input'),
    CircuitView: jsonSchema(CircuitViewSchema, 'output'),
    Health: jsonSchema(HealthSchema, 'output'),
    Error: jsonSchema(ErrorSchema, 'output'),
  };
  for (const [name, s] of Object.entries(extras.schemas ?? {})) {
    try {
      schemas[name] = jsonSchema(s, 'output');
    } catch {
      /* a schema that cannot be rendered is left out rather than breaking the whole document */
    }
  }
  const secured = (scope: string) => ({ security: [{ bearer: [] }], 'x-required-scope': scope });
  const circuitParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Riskgate',
      version: '1',
      description:
        'Predicts CI build failure from a repository\'s own history and answers pre-build risk checks. Authenticate with `Authorization: Bearer <key>`; scopes: score, report, admin. Without configured keys the server listens on 127.0.0.1 only and needs no key.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    paths: {
      '/v1/risk': {
        post: {
          summary: 'Pre-build risk check',
          ...secured('score'),
          requestBody: { required: true, content: { 'application/json': { schema: ref('RiskRequest') } } },
          responses: { '200': json('RiskResponse', 'probability, risk level, factors and the policy to apply'), ...COMMON_ERRORS },
        },
      },
      '/v1/outcomes': {
        post: {
          summary: 'Record finished runs (idempotent); history features update at once',
          ...secured('report'),
          requestBody: { required: true, content: { 'application/json': { schema: ref('OutcomeRequest') } } },
          responses: { '200': json('OutcomeResponse', 'how many records were new, changed or already known'), ...COMMON_ERRORS },
        },
      },
      '/v1/circuits/{name}': {
        get: {
          summary: 'Shared circuit-breaker state of a dependency',
          ...secured('report'),
          parameters: [circuitParam],
          responses: { '200': json('CircuitView', 'closed / open / half-open with the cooldown left'), ...COMMON_ERRORS },
        },
        post: {
          summary: 'Report a success or failure, or ask for permission to call ("attempt"; half-open hands out one trial)',
          ...secured('report'),
          parameters: [circuitParam],
          requestBody: { required: true, content: { 'application/json': { schema: ref('CircuitEvent') } } },
          responses: { '200': json('CircuitView', 'the state after the event'), ...COMMON_ERRORS },
        },
      },
      '/health': { get: { summary: 'Detailed health', responses: { '200': json('Health', 'serving'), '503': json('Health', 'store unavailable') } } },
      '/live': { get: { summary: 'Liveness (process is up)', responses: { '200': { description: 'alive' } } } },
      '/ready': { get: { summary: 'Readiness (model or fallback loaded and store answers)', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain; version=0.0.4' } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      ...(extras.paths ?? {}),
    },
  };
}
