import { DEFAULT_CRON } from '../../src/config/background.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canaryDecisions,
  jobRuns,
  jobSummary,
  joinOutcomes,
  riskEventId,
  riskRow,
  schedule,
  summariseRuns,
  waterfall,
  weekStartUtc,
} from '../../src/dashboard/data.ts';
import { runRecord } from '../support/runs.ts';

const run = runRecord;
const logit = (p: number) => Math.log(p / (1 - p));

describe('dashboard data shaping', () => {
  it('weeks start on Monday UTC', () => {
    assert.equal(weekStartUtc(Date.parse('2025-03-09T23:59:00Z')), '2025-03-03'); // a Sunday
    assert.equal(weekStartUtc(Date.parse('2025-03-10T00:00:00Z')), '2025-03-10');
  });

  it('weekly failure rate counts only learnable outcomes, per repo and overall', () => {
    const runs = [
      run({ repo: 'o/a', run_id: '1', created_at: '2025-03-03T10:00:00Z', conclusion: 'failure' }),
      run({ repo: 'o/a', run_id: '2', created_at: '2025-03-04T10:00:00Z', conclusion: 'success' }),
      run({ repo: 'o/a', run_id: '3', created_at: '2025-03-04T11:00:00Z', conclusion: 'cancelled' }),
      run({ repo: 'o/b', run_id: '4', created_at: '2025-03-05T10:00:00Z', conclusion: 'timed_out' }),
      run({ repo: 'o/b', run_id: '5', created_at: '2025-03-12T10:00:00Z', conclusion: 'success' }),
    ];
    const { weekly } = summariseRuns(runs, []);
    assert.deepEqual(weekly.weeks, ['2025-03-03', '2025-03-10']);
    const by = Object.fromEntries(weekly.series.map((s) => [s.repo, s.rate]));
    assert.deepEqual(by['o/a'], [0.5, null]);
    assert.deepEqual(by['o/b'], [1, 0]);
    assert.deepEqual(by['all repos'], [2 / 3, 0]);
  });

  it('joins a risk check to the latest attempt of its commit; unknown commits stay pending', () => {
    const runs = [
      run({ run_id: '9', run_attempt: 1, head_sha: 'abc', created_at: '2025-03-03T10:00:00Z', conclusion: 'failure' }),
      run({ run_id: '9', run_attempt: 2, head_sha: 'abc', created_at: '2025-03-03T10:00:00Z', conclusion: 'success' }),
    ];
    const ev = (sha: string, p: number) => ({
      at: '2025-03-03T09:59:00Z',
      key: 'o/r',
      payload: { repo: 'o/r', head_sha: sha, probability: p, risk_level: 'low' },
    });
    const rows = [riskRow(ev('abc', 0.2))!, riskRow(ev('zzz', 0.9))!];
    const { outcomes } = summariseRuns(runs, rows);
    const joined = joinOutcomes(rows, outcomes);
    assert.equal(joined[0].outcome, 'success');
    assert.equal(joined[0].failed, 0);
    assert.equal(joined[1].outcome, null);
    assert.equal(joined[1].failed, null);
  });

  it('skips malformed risk events and gives each check a stable id', () => {
    assert.equal(riskRow({ at: 'x', key: 'o/r', payload: { repo: 'o/r', probability: 'high' } }), null);
    const e = { at: '2025-01-01T00:00:00Z', key: 'o/r', payload: { repo: 'o/r', head_sha: 'a', probability: 0.5 } };
    assert.equal(riskEventId(e), riskEventId({ ...e }));
    assert.notEqual(riskEventId(e), riskEventId({ ...e, payload: { ...e.payload, head_sha: 'b' } }));
    assert.match(riskEventId(e), /^[0-9a-f]{16}$/);
  });

  it('waterfall without a base: the first bar is whatever the listed factors leave unexplained, ending at logit(p)', () => {
    const w = waterfall({
      probability: 0.8,
      model: { kind: 'gbdt' },
      factors: [
        { feature: 'a', value: 1, contribution: 0.5 },
        { feature: 'b', value: 2, contribution: -0.9 },
      ],
    })!;
    assert.equal(w.space, 'log-odds');
    assert.deepEqual(
      w.steps.map((s) => s.label),
      ['base + unlisted factors', 'b', 'a', 'final'],
    ); // largest |contribution| first
    assert.ok(Math.abs(w.steps[0].end - (logit(0.8) + 0.4)) < 1e-9);
    for (let i = 1; i < w.steps.length - 1; i++) assert.equal(w.steps[i].start, w.steps[i - 1].end);
    assert.ok(Math.abs(w.steps[2].end - logit(0.8)) < 1e-9);
    assert.ok(Math.abs(w.steps[3].end - logit(0.8)) < 1e-9);
  });

  it('waterfall with a base adds a remainder bar; probability-space kinds are drawn in probability', () => {
    const w = waterfall({
      probability: 0.6,
      base: 0.3,
      model: { kind: 'forest' },
      factors: [{ feature: 'a', value: 1, contribution: 0.2 }],
    })!;
    assert.equal(w.space, 'probability');
    assert.deepEqual(
      w.steps.map((s) => s.kind),
      ['base', 'factor', 'rest', 'final'],
    );
    assert.ok(Math.abs(w.steps[2].start - 0.5) < 1e-12);
    assert.ok(Math.abs(w.steps[2].end - 0.6) < 1e-12);
    assert.equal(waterfall({ factors: [] }), null);
  });

  it('normalises summary and full canary decision events into one time-ordered log', () => {
    const d = canaryDecisions([
      {
        at: '2025-01-01T00:10:00Z',
        key: 'svc',
        payload: {
          version: 'v2',
          request: { current_weight: 10 },
          response: {
            action: 'rollback',
            next_weight: 0,
            reasons: ['bad'],
            verdict: 'fail',
            score: 0,
            metrics: [{ name: 'err', canary_mean: 0.2, baseline_mean: 0.1, classification: 'High' }],
          },
        },
      },
      {
        at: '2025-01-01T00:00:00Z',
        key: 'svc',
        payload: {
          service: 'svc',
          version: 'v2',
          weight: 10,
          action: 'increase',
          reasons: ['ok'],
          metrics: { err: { canary: 0.1, baseline: 0.1 } },
        },
      },
      { at: '2025-01-01T00:05:00Z', key: 'svc', payload: { service: 'svc', reasons: ['no weight'] } },
    ]);
    assert.equal(d.length, 2, 'an event without weight or action is skipped');
    assert.deepEqual(
      d.map((x) => [x.action, x.weight, x.from_weight]),
      [
        ['increase', 10, null],
        ['rollback', 0, 10],
      ],
    );
    assert.deepEqual(d[1].metrics, [{ name: 'err', canary: 0.2, baseline: 0.1, classification: 'High' }]);
    assert.deepEqual(d[0].metrics, [{ name: 'err', canary: 0.1, baseline: 0.1, classification: null }]);
    assert.equal(d[1].service, 'svc');
  });

  it('summarises job runs and reads schedule overrides from the environment', () => {
    const runs = jobRuns([
      {
        at: 'x',
        key: 'ingest',
        payload: {
          job: 'ingest',
          started_at: '2025-01-01T00:00:00Z',
          finished_at: '2025-01-01T00:00:05Z',
          duration_ms: 5000,
          result: 'ok',
        },
      },
      {
        at: 'x',
        key: 'ingest',
        payload: {
          job: 'ingest',
          started_at: '2025-01-01T01:00:00Z',
          finished_at: '2025-01-01T01:00:01Z',
          duration_ms: 1000,
          result: 'error',
          error: 'boom',
        },
      },
      {
        at: 'x',
        key: 'ingest',
        payload: {
          job: 'ingest',
          started_at: '2025-01-01T02:00:00Z',
          finished_at: '2025-01-01T02:00:03Z',
          duration_ms: 3000,
          result: 'ok',
        },
      },
    ]);
    const [s] = jobSummary(runs);
    assert.deepEqual(
      { ...s },
      { job: 'ingest', last_at: '2025-01-01T02:00:03Z', last_result: 'ok', runs: 3, ok: 2, p50_ms: 3000 },
    );
    const sched = schedule({ ...DEFAULT_CRON, retrain: '30 2 * * *' });
    assert.deepEqual(
      sched.find((x) => x.job === 'retrain'),
      { job: 'retrain', cron: '30 2 * * *', source: 'env', variable: 'RISKGATE_RETRAIN_CRON', help: sched[1].help },
    );
    assert.equal(sched.find((x) => x.job === 'ingest')?.source, 'default');
  });
});
