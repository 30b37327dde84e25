import { z } from 'zod';
import { ErrorSchema, HealthSchema } from './schemas.ts';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests, so the
 * documentation cannot drift from what the server accepts. Requests are rendered as their input side
 * (what a client sends), responses as their output side.
 */
export type Json = Record<string, unknown>;

export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete s.$schema;
  return s;
}

// ---- helpers for path entries (router modules use them to document their own routes) ----

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
/** A JSON response that is one of several components (e.g. a 403 that is either a business "no" or a scope error). */
export const jsonAnyOf = (names: string[], description: string) => ({
  description,
  content: { 'application/json': { schema: { anyOf: names.map(ref) } } },
});
export const err = (description: string) => json('Error', description);
export const body = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
/** Scope an operation needs (`Authorization: Bearer <key>`; not enforced when no keys are configured). */
export const secured = (scope: 'score' | 'report' | 'admin') => ({
  security: [{ bearer: [] }],
  'x-required-scope': scope,
});

/** Errors every authenticated route with a JSON body can answer. */
export const COMMON_ERRORS = {
  '400': err('invalid_request / invalid_json: the body or a parameter is invalid; details name the field path'),
  '401': err('unauthorized: missing or unknown API key'),
  '403': err('forbidden: the key lacks the required scope'),
  '413': err('payload_too_large: body over 1 MB'),
  '415': err('unsupported_media_type: body is not JSON'),
  '429': err('rate_limited: too many requests for this key; see Retry-After'),
  '503': err('store_unavailable or not_ready: retry later; see Retry-After'),
};
/** Errors of an authenticated route without a body (GET). */
export const READ_ERRORS = {
  '400': COMMON_ERRORS['400'],
  '401': COMMON_ERRORS['401'],
  '403': COMMON_ERRORS['403'],
  '429': COMMON_ERRORS['429'],
  '503': COMMON_ERRORS['503'],
};

/** OpenAPI parameters from a zod object schema (its input side: defaults make a parameter optional). */
export function zodParameters(schema: z.ZodType, where: 'query' | 'path'): Json[] {
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      schema: rest,
      ...(description ? { description } : {}),
    };
  });
}
/** One path parameter from a zod (string) schema. */
export function zodPathParam(name: string, schema: z.ZodType, description?: string): Json {
  const { description: d, ...rest } = jsonSchema(schema, 'input');
  const text = description ?? (d as string | undefined);
  return { name, in: 'path', required: true, schema: rest, ...(text ? { description: text } : {}) };
}

export interface OpenApiExtras {
  /** Extra component schemas (e.g. the canary router's), rendered as output schemas. */
  schemas?: Record<string, z.ZodType>;
  /** Component schemas clients send (request bodies), rendered as their input side; they win over `schemas` of the same name. */
  requestSchemas?: Record<string, z.ZodType>;
  paths?: Record<string, Record<string, unknown>>;
}

/** Merges the OpenAPI contributions of several modules (later ones win on a name clash; path items merge by method). */
export function mergeOpenApi(...parts: OpenApiExtras[]): OpenApiExtras {
  const out: Required<OpenApiExtras> = { schemas: {}, requestSchemas: {}, paths: {} };
  for (const p of parts) {
    Object.assign(out.schemas, p.schemas);
    Object.assign(out.requestSchemas, p.requestSchemas);
    for (const [path, item] of Object.entries(p.paths ?? {})) out.paths[path] = { ...out.paths[path], ...item };
  }
  return out;
}

export function buildOpenApi(extras: OpenApiExtras = {}): Json {
  const schemas: Record<string, Json> = {
    Health: jsonSchema(HealthSchema, 'output'),
    Error: jsonSchema(ErrorSchema, 'output'),
  };
  const add = (from: Record<string, z.ZodType> | undefined, io: 'input' | 'output') => {
    for (const [name, s] of Object.entries(from ?? {})) {
      try {
        schemas[name] = jsonSchema(s, io);
      } catch {
        /* a schema that cannot be rendered is left out rather than breaking the whole document */
      }
    }
  };
  add(extras.schemas, 'output');
  add(extras.requestSchemas, 'input');

  const probes: Record<string, Record<string, unknown>> = {
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Detailed health',
        responses: { '200': json('Health', 'serving'), '503': json('Health', 'store unavailable') },
      },
    },
    '/live': {
      get: {
        operationId: 'live',
        summary: 'Liveness (process is up)',
        responses: { '200': { description: 'alive (`{"live": true}`)' } },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: 'Readiness (model or fallback loaded and store answers)',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (needs an admin key when RISKGATE_METRICS_AUTH=true)',
        responses: {
          '200': {
            description: 'text/plain; version=0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          '401': COMMON_ERRORS['401'],
          '403': COMMON_ERRORS['403'],
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: {
          '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  };
  // The routers' paths first (the API a reader looks for: /v1/risk leads), then the probes.
  const paths: Record<string, Record<string, unknown>> = { ...extras.paths };
  for (const [path, item] of Object.entries(probes)) paths[path] = { ...paths[path], ...item };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Riskgate',
      version: '1',
      description:
        "Predicts CI build failure from a repository's own history and answers pre-build risk checks, canary decisions (Argo Rollouts, Flagger, Kayenta), model management and delivery reports. " +
        'Authenticate with `Authorization: Bearer <key>`; scopes: score, report, admin (`x-required-scope` on each operation). Without configured keys the server listens on 127.0.0.1 only and needs no key. ' +
        'Errors are always `{error, message, details?, request_id?}`. ' +
        "Not documented here: the operator dashboard (`GET /`, `/ui/...` pages and assets) and its data calls under `/ui/api/*`, which are the dashboard's internal API and may change without notice.",
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    paths,
  };
}
