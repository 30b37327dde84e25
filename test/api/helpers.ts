import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type express from 'express';
import { createApp, type AppDeps } from '../../src/app.ts';
import type { ScoreRequest, Scorer, ScoreResult } from '../../src/serving/types.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

export const silent = pino({ level: 'silent' });

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ RISKGATE_LOG_LEVEL: 'silent', ...env });
}

/** A scorer answering a fixed probability (or a function of the request), with a visible model version. */
export function fixedScorer(
  p: number | ((r: ScoreRequest) => number),
  version = 'v1',
): Scorer & { calls: ScoreRequest[] } {
  const calls: ScoreRequest[] = [];
  return {
    calls,
    async score(req): Promise<ScoreResult> {
      calls.push(req);
      return {
        probability: typeof p === 'number' ? p : p(req),
        model: { id: 'test-model', version, kind: 'gbdt' },
        degraded: false,
        factors: [
          { feature: 'fail_rate_20', value: 0.4, contribution: 0.9 },
          { feature: 'hour', value: 3, contribution: -0.2 },
        ],
      };
    },
    ready: () => true,
    info: () => ({ id: 'test-model', version, kind: 'gbdt', loaded_at: '2024-01-01T00:00:00.000Z' }),
  };
}

export interface TestServer {
  url: string;
  server: Server;
  store: Store;
  app: express.Express;
  close(): Promise<void>;
}

export async function serveApp(deps: Partial<AppDeps> & { env?: Record<string, string> } = {}): Promise<TestServer> {
  const store = deps.store ?? openStore(':memory:');
  const app = createApp({
    store,
    scorer: deps.scorer ?? fixedScorer(0.5),
    config: deps.config ?? testConfig(deps.env),
    logger: deps.logger ?? silent,
    extraRouters: deps.extraRouters,
    riskLog: deps.riskLog,
    defaultMetrics: false,
    clock: deps.clock,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    store,
    app,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (e.g. /metrics) */
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/**
 * A deliberately small JSON Schema (2020-12 subset) validator: enough for the keywords z.toJSONSchema emits
 * for our schemas, so the test checks real responses against the served OpenAPI document itself.
 */
export function validateJsonSchema(schema: any, value: unknown, root: any, path = '$'): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: not allowed`];
  if (schema.$ref) {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((o: any, k: string) => o?.[k], root);
    if (!target) return [`${path}: unresolvable $ref ${schema.$ref}`];
    return validateJsonSchema(target, value, root, path);
  }
  const errs: string[] = [];
  if (schema.anyOf && !schema.anyOf.some((s: any) => validateJsonSchema(s, value, root, path).length === 0))
    errs.push(`${path}: matches no anyOf branch`);
  if (
    schema.oneOf &&
    schema.oneOf.filter((s: any) => validateJsonSchema(s, value, root, path).length === 0).length !== 1
  )
    errs.push(`${path}: must match exactly one oneOf branch`);
  if (schema.allOf) for (const s of schema.allOf) errs.push(...validateJsonSchema(s, value, root, path));
  if (schema.enum && !schema.enum.some((e: unknown) => e === value))
    errs.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if ('const' in schema && schema.const !== value) errs.push(`${path}: must equal ${JSON.stringify(schema.const)}`);
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual =
      value === null
        ? 'null'
        : Array.isArray(value)
          ? 'array'
          : typeof value === 'number'
            ? Number.isInteger(value)
              ? 'integer'
              : 'number'
            : typeof value;
    const ok = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) return [...errs, `${path}: expected ${types.join('|')}, got ${actual}`];
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${path}: below minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${path}: above maximum ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      errs.push(`${path}: not above ${schema.exclusiveMinimum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errs.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      errs.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value))
      errs.push(`${path}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errs.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errs.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validateJsonSchema(schema.items, v, root, `${path}[${i}]`)));
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) errs.push(`${path}: missing required ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.properties?.[k]) errs.push(...validateJsonSchema(schema.properties[k], v, root, `${path}.${k}`));
      else if (schema.additionalProperties !== undefined)
        errs.push(...validateJsonSchema(schema.additionalProperties, v, root, `${path}.${k}`));
      if (schema.propertyNames) errs.push(...validateJsonSchema(schema.propertyNames, k, root, `${path}{${k}}`));
    }
  }
  return errs;
}
