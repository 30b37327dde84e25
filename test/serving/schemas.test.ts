import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RiskRequestSchema } from '../../src/serving/schemas.ts';
import { pendingRun } from '../../src/serving/pending-run.ts';
import { RunRecordSchema } from '../../src/records/schema.ts';

/** The risk request re-implements the run record's field rules without per-field transforms (for speed); they must agree. */
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.option(fc.oneof(arb, fc.constant(null as unknown as T)), { nil: undefined });
const input = fc.record(
  {
    repo: fc.oneof(fc.constantFrom('acme/web', 'a.b/c-d_e', 'bad', 'x/y/z', ''), fc.string()),
    head_sha: maybe(fc.string({ maxLength: 70 })),
    head_branch: maybe(fc.string()),
    event: maybe(fc.constantFrom('push', 'pull_request', 'x'.repeat(65))),
    actor: maybe(fc.string()),
    workflow: maybe(fc.constantFrom('ci', '', 'nightly')),
    run_attempt: maybe(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double())),
    created_at: maybe(
      fc.constantFrom(
        '2024-05-01T12:00:00Z',
        '2024-05-01T12:00:00+02:00',
        '2024-05-01',
        'soon',
        '2999-01-01T00:00:00Z',
      ),
    ),
    files: maybe(fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 })),
    files_changed: maybe(fc.oneof(fc.integer({ min: -3, max: 100 }), fc.double())),
    additions: maybe(fc.integer({ min: -3, max: 1000 })),
    deletions: maybe(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(Number.POSITIVE_INFINITY))),
  },
  { requiredKeys: ['repo'] },
);

test('RiskRequestSchema accepts exactly what the run record accepts for the shared fields, with the same values', () => {
  fc.assert(
    fc.property(input, (x) => {
      const req = RiskRequestSchema.safeParse(x);
      const rec = RunRecordSchema.safeParse({
        ...x,
        run_id: 'pending',
        created_at: x.created_at ?? '2024-05-01T00:00:00Z',
      });
      assert.equal(req.success, rec.success, JSON.stringify(x));
      if (req.success && rec.success) {
        // The one pending-run builder converts a validated request directly…
        const asRecord = pendingRun(req.data);
        assert.deepEqual(asRecord, { ...rec.data, created_at: req.data.created_at });
        // …and validates anything else (a copy is not tagged as validated) into the same run.
        assert.deepEqual(pendingRun({ ...req.data }), asRecord);
      }
    }),
    { numRuns: 500 },
  );
});
