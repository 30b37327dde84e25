import type { z } from 'zod';
import { zodDetails } from '../errors.ts';
import { HttpError } from './errors.ts';

/**
 * Parsing of the three parts of a request a route can declare a schema for. Every failure is the same 400
 * `{ error: 'invalid_request', message, details: [{ path, message }] }`; a detail's path names the field as
 * the client wrote it: `params.<name>`, `query.<name>`, and body fields unprefixed (`deployment.service`).
 * src/api/route.ts declares every route with these.
 */

export function parseBody<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  if (raw === undefined)
    throw new HttpError(400, 'invalid_request', 'a JSON request body is required', [
      { path: '(root)', message: 'missing body' },
    ]);
  const r = schema.safeParse(raw);
  if (!r.success) throw new HttpError(400, 'invalid_request', 'invalid request body', zodDetails(r.error));
  return r.data;
}

/** Repeated parameters (?repo=a&repo=b) arrive as arrays; a string schema then reports them as not a string. */
export function parseQuery<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new HttpError(400, 'invalid_request', 'invalid query', zodDetails(r.error, ['query']));
  return r.data;
}

export function parseParam<S extends z.ZodType>(name: string, schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new HttpError(
      400,
      'invalid_request',
      `invalid path parameter ${name}`,
      zodDetails(r.error, ['params', name]),
    );
  return r.data;
}
