import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { StoreUnavailableError } from '../store/types.ts';
import { redactUrlsIn } from '../redact.ts';
import { Refusal, type RefusalDetail, type RefusalKind, zodDetails } from '../errors.ts';

/**
 * An error as the error log records it: a URL inside the message or stack (an upstream's address with
 * userinfo, a webhook path) is cut to its origin, so an error log line cannot carry a credential.
 */
function loggable(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const out = Object.assign(new Error(redactUrlsIn(err.message)), {
    name: err.name,
    stack: err.stack && redactUrlsIn(err.stack),
  });
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) Object.assign(out, { code });
  // The cause (a store error's SqliteError and its code) is kept, redacted the same way.
  if (err.cause !== undefined && depth < 3) Object.assign(out, { cause: loggable(err.cause, depth + 1) });
  return out;
}

/** One error shape everywhere: `{ error: '<code>', message, details? }`, plus the request id for support. */
export type ErrorDetail = RefusalDetail;

/** A domain refusal's kind → the status the caller sees. */
const REFUSAL_STATUS: Record<RefusalKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  not_ready: 503,
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(res: Response, status: number, code: string, message: string, details?: ErrorDetail[]): void {
  const body: Record<string, unknown> = { error: code, message };
  if (details) body.details = details;
  if (res.locals.requestId) body.request_id = res.locals.requestId;
  res.status(status).json(body);
}

/** body-parser's error types → the status a client should see (none of them is the server's fault). */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  'entity.too.large': [413, 'payload_too_large', 'request body exceeds the 1 MB limit'],
  'entity.parse.failed': [400, 'invalid_json', 'request body is not valid JSON'],
  'entity.verify.failed': [400, 'invalid_request', 'request body failed verification'],
  'request.aborted': [400, 'request_aborted', 'request body was not received completely'],
  'request.size.invalid': [400, 'invalid_request', 'request body length does not match Content-Length'],
  'charset.unsupported': [415, 'unsupported_media_type', 'unsupported charset; send UTF-8 JSON'],
  'encoding.unsupported': [415, 'unsupported_media_type', 'unsupported Content-Encoding'],
  'stream.encoding.set': [500, 'internal_error', 'internal error'],
};

export function errorHandler(log: Logger, hooks: { onStoreError?: () => void } = {}): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const reqLog: Logger = res.locals.requestId ? log.child({ req_id: res.locals.requestId }) : log;
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
      return sendError(res, err.status, err.code, err.message, err.details);
    }
    if (err instanceof Refusal) {
      if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return sendError(res, REFUSAL_STATUS[err.kind], err.code, err.message, err.details);
    }
    if (err instanceof StoreUnavailableError) {
      hooks.onStoreError?.();
      reqLog.error({ err: loggable(err) }, 'store unavailable');
      res.setHeader('Retry-After', '5');
      return sendError(res, 503, 'store_unavailable', 'the store cannot answer right now; retry shortly');
    }
    if (err instanceof z.ZodError) return sendError(res, 400, 'invalid_request', 'invalid request', zodDetails(err));
    const type = (err as { type?: string })?.type;
    if (type && BODY_ERRORS[type]) {
      const [status, code, message] = BODY_ERRORS[type];
      if (status < 500) return sendError(res, status, code, message);
    }
    // Express's own client errors (e.g. a path parameter with malformed percent-encoding, which the router
    // raises as a URIError with status 400) are the client's mistake, not the server's.
    const clientStatus = (err as { status?: unknown })?.status;
    if (
      typeof clientStatus === 'number' &&
      Number.isInteger(clientStatus) &&
      clientStatus >= 400 &&
      clientStatus < 500
    ) {
      const message =
        err instanceof URIError
          ? 'the URL contains malformed percent-encoding'
          : (STATUS_CODES[clientStatus] ?? 'client error');
      return sendError(res, clientStatus, clientStatus === 400 ? 'invalid_request' : 'client_error', message);
    }
    reqLog.error({ err: loggable(err) }, 'unhandled error');
    sendError(res, 500, 'internal_error', 'internal error');
  };
}
