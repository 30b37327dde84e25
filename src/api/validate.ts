import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { HttpError, zodDetails } from './errors.ts';

/**
 * Validates `req.body` against a zod schema and replaces it with the parsed value, or answers
 * 400 `{ error: 'invalid_request', details: [{ path, message }] }`. Other routers use it too.
 */
export function validateBody<S extends z.ZodType>(schema: S): RequestHandler {
  return (req, _res, next) => {
    if (req.body === undefined) {
      return next(
        new HttpError(400, 'invalid_request', 'a JSON request body is required', [
          { path: '(root)', message: 'missing body' },
        ]),
      );
    }
    const r = schema.safeParse(req.body);
    if (!r.success) return next(new HttpError(400, 'invalid_request', 'invalid request body', zodDetails(r.error)));
    req.body = r.data;
    next();
  };
}

/** Same for a route parameter, reported as `params.<name>`. */
export function validateParam<S extends z.ZodType>(name: string, schema: S): RequestHandler {
  return (req, _res, next) => {
    const r = schema.safeParse(req.params[name]);
    if (!r.success)
      return next(
        new HttpError(400, 'invalid_request', `invalid path parameter ${name}`, zodDetails(r.error, ['params', name])),
      );
    next();
  };
}
