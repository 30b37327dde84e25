import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { buildOpenApi } from '../../src/api/openapi.ts';
import { servingOpenApi } from '../../src/serving/router.ts';
import { call, fixedScorer, serveApp, validateJsonSchema } from './helpers.ts';

/**
 * Real responses are checked against the served /openapi.json itself, with the small JSON Schema validator
 * in helpers.ts (not against the zod schemas), so the document and the server cannot drift apart.
 */
function responseSchema(doc: any, path: string, method: string, status: number) {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
  const r = op.responses[String(status)];
  assert.ok(r, `${method.toUpperCase()} ${path} documents status ${status}`);
  return r.content?.['application/json']?.schema;
}

test('/openapi.json is an OpenAPI 3.1 document covering every route', async () => {
  const s = await serveApp();
  try {
    const { body: doc, status } = await call(s.url, 'GET', '/openapi.json');
    assert.equal(status, 200);
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/v1/risk', '/v1/outcomes', '/v1/circuits/{name}', '/health', '/live', '/ready', '/metrics'])
      assert.ok(doc.paths[p], p);
    assert.equal(doc.paths['/v1/risk'].post['x-required-scope'], 'score');
    assert.equal(doc.components.schemas.RiskRequest.required[0], 'repo');
    for (const code of ['400', '401', '403', '413', '415', '429', '503'])
      assert.ok(doc.paths['/v1/risk'].post.responses[code], code);
  } finally {
    await s.close();
  }
});

test('real responses validate against the documented response schemas', async () => {
  const s = await serveApp({
    scorer: fixedScorer(0.55),
    env: { RISKGATE_API_KEYS: 'ci:score+report:ci-token-0123456789abcdef' },
  });
  const h = { authorization: 'Bearer ci-token-0123456789abcdef' };
  try {
    const doc = (await call(s.url, 'GET', '/openapi.json')).body;
    const cases: [string, string, string, unknown, Record<string, string>][] = [
      [
        'post',
        '/v1/risk',
        '/v1/risk',
        { repo: 'acme/web', files: ['yarn.lock'], service_health: { 'gha-cache': 0.3 } },
        h,
      ],
      ['post', '/v1/risk', '/v1/risk', { repo: 'nope' }, h],
      ['post', '/v1/risk', '/v1/risk', { repo: 'acme/web' }, {}],
      [
        'post',
        '/v1/outcomes',
        '/v1/outcomes',
        { repo: 'acme/web', run_id: 5, created_at: '2024-01-01T00:00:00Z', conclusion: 'failure' },
        h,
      ],
      ['get', '/v1/circuits/{name}', '/v1/circuits/npm', undefined, h],
      ['post', '/v1/circuits/{name}', '/v1/circuits/npm', { event: 'attempt' }, h],
      ['get', '/health', '/health', undefined, {}],
    ];
    for (const [method, docPath, path, body, headers] of cases) {
      const r = await call(s.url, method.toUpperCase(), path, body, headers);
      const schema = responseSchema(doc, docPath, method, r.status);
      assert.ok(schema, `${path} ${r.status} has a JSON schema`);
      assert.deepEqual(validateJsonSchema(schema, r.body, doc), [], `${method} ${path} → ${r.status}`);
    }
  } finally {
    await s.close();
  }
});

test('the validator is not vacuous: a broken response is rejected', async () => {
  const doc = buildOpenApi(servingOpenApi());
  const schema = { $ref: '#/components/schemas/RiskResponse' };
  const errs = validateJsonSchema(
    schema,
    { probability: 2, risk_level: 'extreme', model: null, degraded: 'no', factors: [], request_id: 'x' },
    doc,
  );
  assert.ok(errs.some((e) => e.includes('probability')));
  assert.ok(errs.some((e) => e.includes('risk_level')));
  assert.ok(errs.some((e) => e.includes('degraded')));
  assert.ok(errs.some((e) => e.includes('missing required policy')));
});

test('extra (canary) schemas are added to the components', () => {
  const doc = buildOpenApi({
    schemas: { CanaryDecision: z.object({ action: z.enum(['promote', 'rollback']) }) },
  }) as any;
  assert.deepEqual(doc.components.schemas.CanaryDecision.properties.action.enum, ['promote', 'rollback']);
});
