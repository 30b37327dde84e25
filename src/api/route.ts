import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Scope } from '../config.ts';
import { requireScope } from './auth.ts';
import { body, secured, zodParameters, zodPathParam, type Json, type OpenApiExtras } from './openapi.ts';
import { parseBody, parseParam, parseQuery } from './validate.ts';

/**
 * One way to declare an HTTP route: its method, path, scope and the zod schemas of its body, query and path
 * parameters, written once. `mountRoutes` validates requests with those schemas and `describeRoutes` turns
 * the same declarations into OpenAPI path items, so what the document says a route takes is what the route
 * accepts (test/api/route-contract.test.ts probes every documented parameter against the running app).
 *
 * A router module declares its table at module level (no dependencies needed to document it) and binds a
 * handler to every entry when it is created; a table entry without a handler, or without a scope, does not
 * compile.
 */

/** Who may call a route: an API key's scope, or 'public' for what is anonymous by design (the dashboard shell). */
export type RouteScope = Scope | 'public';

export interface BodySpec<S extends z.ZodType = z.ZodType> {
  /** Component name in the OpenAPI document (rendered as the schema's input side: what a client sends). */
  name: string;
  schema: S;
  /** Rewrites the raw body before the schema reads it (Argo sends numbers as strings). */
  prepare?: (raw: unknown) => unknown;
  /**
   * For a union body: the member this body chose, validated alone so an error names its field (a union's
   * error names only the root). `schema` stays what the document shows.
   */
  select?: (raw: unknown) => z.ZodType;
}

/** The OpenAPI fields a declaration cannot derive: parameters, requestBody and security come from the declaration. */
export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  responses: Record<string, unknown>;
}

export interface RouteDecl {
  method: 'get' | 'post';
  /** An Express path (`/v1/models/:id`, documented as `/v1/models/{id}`), or a RegExp for undocumented routes. */
  path: string | RegExp;
  scope: RouteScope;
  body?: BodySpec;
  query?: z.ZodType;
  /** One schema per path parameter; a `.describe()` on it becomes the parameter's description. */
  params?: Record<string, z.ZodType>;
  /** The OpenAPI operation, or false for routes kept out of the document (the dashboard's). */
  doc: OperationDoc | false;
}

export type RouteTable = Record<string, RouteDecl>;

/** What a handler receives: the parsed body, query and path parameters. */
export interface RouteInput<D extends RouteDecl> {
  body: D extends { body: BodySpec<infer S> } ? z.output<S> : undefined;
  query: D extends { query: infer Q extends z.ZodType } ? z.output<Q> : undefined;
  params: D extends { params: infer P extends Record<string, z.ZodType> }
    ? { [K in keyof P]: z.output<P[K]> }
    : Record<string, string | undefined>;
}

/**
 * A handler answers with `res` itself, or returns the JSON body of a 200 (anything but undefined). A thrown
 * error goes to the app's error handler (after `mapError`, when the router maps domain errors to HTTP).
 */
export type RouteHandler<D extends RouteDecl> = (req: Request, res: Response, input: RouteInput<D>) => unknown;

/** A handler with middleware that runs before the scope check (Flagger's hooks carry their key in the body). */
export interface RouteBinding<D extends RouteDecl> {
  before: RequestHandler[];
  handler: RouteHandler<D>;
}

/** Declares a router's table; the identity function, there for the type check of every entry. */
export function routes<T extends RouteTable>(table: T): T {
  return table;
}

export interface MountOptions {
  /** The scope check (default: src/api/auth.ts requireScope, which needs the principal `authenticate` sets). */
  requireScope?: (scope: Scope) => RequestHandler;
  /** Turns a domain error a handler throws into an HttpError (return undefined to pass it on unchanged). */
  mapError?: (err: unknown) => Error | undefined;
}

function parse(d: RouteDecl, req: Request): RouteInput<RouteDecl> {
  const params: Record<string, unknown> = { ...req.params };
  for (const [name, schema] of Object.entries(d.params ?? {}))
    params[name] = parseParam(name, schema, req.params[name]);
  const query = d.query ? parseQuery(d.query, req.query) : undefined;
  const raw: unknown = d.body?.prepare ? d.body.prepare(req.body) : req.body;
  const body = d.body ? parseBody(d.body.select?.(raw) ?? d.body.schema, raw) : undefined;
  return { params, query, body } as RouteInput<RouteDecl>;
}

/**
 * Where routes are mounted: a Router of their own, or the app itself. The hot routes go on the app (see
 * src/app.ts): a nested Router is one more dispatch per request.
 */
export type RouteTarget = Pick<Router, 'get' | 'post'>;

/** Mounts every route of `table` on `router` in declaration order: [before…, scope check, validation + handler]. */
export function mountRoutes<T extends RouteTable, R extends RouteTarget>(
  router: R,
  table: T,
  handlers: { [K in keyof T]: RouteHandler<T[K]> | RouteBinding<T[K]> },
  opts: MountOptions = {},
): R {
  const guard = opts.requireScope ?? requireScope;
  for (const [key, d] of Object.entries(table)) {
    const bound = handlers[key] as RouteHandler<RouteDecl> | RouteBinding<RouteDecl>;
    const { before, handler } = typeof bound === 'function' ? { before: [], handler: bound } : bound;
    const run = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const out = await handler(req, res, parse(d, req));
        if (out !== undefined && !res.headersSent) res.json(out);
      } catch (err) {
        next(opts.mapError?.(err) ?? err);
      }
    };
    const chain = [...before, ...(d.scope === 'public' ? [] : [guard(d.scope)]), run];
    router[d.method](d.path, ...chain);
  }
  return router;
}

/** `/v1/models/:id` → `/v1/models/{id}`. */
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/**
 * The OpenAPI paths of a table's documented routes, and the request components their bodies name. Two
 * routes naming one component with different schemas is a programming error, thrown here (at startup).
 */
export function describeRoutes(table: RouteTable): Required<Pick<OpenApiExtras, 'paths' | 'requestSchemas'>> {
  const paths: Record<string, Record<string, unknown>> = {};
  const requestSchemas: Record<string, z.ZodType> = {};
  for (const d of Object.values(table)) {
    if (d.doc === false) continue;
    if (typeof d.path !== 'string') throw new Error(`a documented route needs a string path, not ${String(d.path)}`);
    const parameters: Json[] = [
      ...Object.entries(d.params ?? {}).map(([name, schema]) => zodPathParam(name, schema)),
      ...(d.query ? zodParameters(d.query, 'query') : []),
    ];
    if (d.body) {
      const known = requestSchemas[d.body.name];
      if (known && known !== d.body.schema) throw new Error(`two request schemas are named ${d.body.name}`);
      requestSchemas[d.body.name] = d.body.schema;
    }
    const { operationId, summary, description, responses } = d.doc;
    const path = openApiPath(d.path);
    paths[path] = {
      ...paths[path],
      [d.method]: {
        operationId,
        summary,
        ...(description ? { description } : {}),
        ...(d.scope === 'public' ? {} : secured(d.scope)),
        ...(parameters.length ? { parameters } : {}),
        ...(d.body ? { requestBody: body(d.body.name) } : {}),
        responses,
      },
    };
  }
  return { paths, requestSchemas };
}
