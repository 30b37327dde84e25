/** The dashboard's HTTP surface without a browser: auth, bad input, the shell and the data it serves. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFrame } from '../../src/features/frame.ts';
import { failureLabel } from '../../src/records/schema.ts';
import { seedDashboard, serveDashboard, TEST_KEY, type Seeded } from './seed.ts';

const auth = { Authorization: `Bearer ${TEST_KEY}` };

describe('dashboard HTTP API', () => {
  let seed: Seeded;
  let srv: { url: string; close(): Promise<void> };
  const get = async (path: string, headers: Record<string, string> = auth) => {
    const r = await fetch(srv.url + path, { headers });
    const text = await r.text();
    let body: any = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* html or js */
    }
    return { status: r.status, headers: r.headers, text, body };
  };

  before(async () => {
    seed = await seedDashboard();
    srv = await serveDashboard(seed, { env: { RISKGATE_INGEST_CRON: '*/5 * * * *' } });
  });
  after(async () => {
    await srv?.close();
    seed?.close();
  });

  it('serves the shell without auth, with its own CSP and content-hashed assets', async () => {
    for (const path of ['/', '/ui', '/ui/canary', '/ui/risk/0123456789abcdef']) {
      const r = await get(path, {});
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/);
      assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.doesNotMatch(r.text, /https?:\/\//, 'the shell references nothing off-origin');
    }
    const shell = (await get('/', {})).text;
    const js = /src="(\/ui\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(shell)![1];
    const css = /href="(\/ui\/assets\/app\.[0-9a-f]{12}\.css)"/.exec(shell)![1];
    const a = await get(js, {});
    assert.equal(a.status, 200);
    assert.match(a.headers.get('content-type') ?? '', /javascript/);
    assert.match(a.headers.get('cache-control') ?? '', /immutable/);
    assert.ok(a.text.includes('/ui/api/'), 'the bundle is the dashboard client');
    assert.match((await get(css, {})).text, /--accent/);
    assert.equal((await get('/ui/assets/app.000000000000.js', {})).status, 404);
  });

  it('session tells the page whether a key is needed; data calls need the score scope', async () => {
    assert.deepEqual((await get('/ui/api/session', {})).body, { auth_required: true, timezone: 'UTC' });
    const none = await get('/ui/api/overview', {});
    assert.equal(none.status, 401);
    assert.match(none.body.message, /bearer token/);
    const wrong = await get('/ui/api/model', { Authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    const reportOnly = await serveDashboard(seed, { scopes: ['report'] });
    try {
      const r = await fetch(`${reportOnly.url}/ui/api/jobs`, { headers: auth });
      assert.equal(r.status, 403);
      assert.match((await r.json()).message, /"score" scope/);
    } finally {
      await reportOnly.close();
    }
  });

  it('rejects bad query input with the field path', async () => {
    const cases: [string, number, string][] = [
      ['/ui/api/overview?limit=0', 400, 'query.limit'],
      ['/ui/api/overview?limit=abc', 400, 'query.limit'],
      ['/ui/api/overview?bogus=1', 400, 'query'],
      ['/ui/api/canary?limit=99999', 400, 'query.limit'],
      ['/ui/api/reports?repo=not-a-repo', 400, 'query.repo'],
      ['/ui/api/reports?weeks=-1', 400, 'query.weeks'],
      ['/ui/api/risk/XYZ', 400, 'params.id'],
      ['/ui/api/reports?repo=acme/nothing', 404, 'query.repo'],
    ];
    for (const [path, status, field] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, path);
      assert.ok(
        r.body.details?.some((d: { path: string }) => d.path === field),
        `${path}: ${JSON.stringify(r.body)}`,
      );
    }
    const missing = await get('/ui/api/risk/0123456789abcdef');
    assert.equal(missing.status, 404);
    assert.equal((await get('/ui/api/nothing-here')).status, 404);
  });

  it('overview joins risk checks to run outcomes and computes weekly failure rates from the runs', async () => {
    const { body } = await get('/ui/api/overview');
    assert.equal(body.risk_checks.length, seed.known.riskCount);
    const high = body.risk_checks.find((r: { id: string }) => r.id === seed.known.riskHigh.id);
    assert.equal(high.outcome, seed.known.riskHigh.outcome);
    assert.equal(high.failed, 1);
    assert.equal(
      body.risk_checks.find((r: { head_sha: string }) => r.head_sha === seed.known.pendingSha).outcome,
      null,
    );
    assert.equal(body.champion.id, seed.known.championId);
    assert.equal(body.challenger.id, seed.known.challengerId);
    // Independent recount of one week for one repo.
    const week = body.failure_rate.weeks[1];
    const from = Date.parse(`${week}T00:00:00Z`);
    const labels = [...seed.store.iterateRuns({ repo: 'acme/web' })]
      .filter((r) => Date.parse(r.created_at) >= from && Date.parse(r.created_at) < from + 7 * 86400_000)
      .map((r) => failureLabel(r.conclusion))
      .filter((l) => l !== null);
    const web = body.failure_rate.series.find((s: { repo: string }) => s.repo === 'acme/web');
    assert.equal(web.runs[1], labels.length);
    assert.equal(web.rate[1], labels.reduce((a: number, b) => a + b!, 0) / labels.length);
  });

  it('model page data: curves over the newest 15 % of history, cached per champion', async () => {
    const { body } = await get('/ui/api/model');
    const e = body.evaluation;
    assert.equal(body.champion.id, seed.known.championId);
    const frame = buildFrame(seed.store.iterateRuns());
    assert.equal(e.rows, Math.round(frame.n * 0.15));
    const c = e.confusion;
    assert.equal(c.tp + c.fp + c.tn + c.fn, e.rows);
    assert.equal(c.tp + c.fn, e.positives);
    assert.equal(e.roc.fpr[0], 0);
    assert.equal(e.roc.tpr.at(-1), 1);
    assert.ok(e.roc.auc > 0.5 && e.roc.auc <= 1, `ROC-AUC ${e.roc.auc}`);
    assert.equal(
      e.calibration.count.reduce((a: number, b: number) => a + b, 0),
      e.rows,
    );
    assert.ok(
      e.importance.length > 0 &&
        e.importance.every(
          (f: { gain: number }, i: number, a: { gain: number }[]) => i === 0 || a[i - 1].gain >= f.gain,
        ),
    );
    assert.equal(body.backtest.repos.length, 2);
    assert.deepEqual((await get('/ui/api/model')).body.evaluation, e, 'second call is the cached evaluation');
  });

  it('risk detail returns the waterfall ending at the stored probability', async () => {
    const { status, body } = await get(`/ui/api/risk/${seed.known.riskHigh.id}`);
    assert.equal(status, 200);
    assert.equal(body.probability, 0.83);
    const steps = body.waterfall.steps;
    assert.equal(steps.length, seed.known.riskHigh.factors.length + 2);
    const final = steps.at(-1).end;
    assert.ok(Math.abs(final - Math.log(0.83 / 0.17)) < 1e-6);
    assert.ok(Math.abs(steps.at(-2).end - final) < 1e-9, 'the last factor lands on the final score');
  });

  it('canary, jobs and reports read the seeded logs', async () => {
    const canary = (await get('/ui/api/canary')).body;
    assert.deepEqual(canary.services, seed.known.canaryServices);
    const checkout = canary.decisions.filter((d: { service: string }) => d.service === 'checkout');
    assert.deepEqual(
      checkout.map((d: { weight: number }) => d.weight),
      [5, 10, 25, 25, 50, 100],
    );
    const only = (await get('/ui/api/canary?service=payments')).body;
    assert.deepEqual(only.services, ['payments']);
    assert.ok(only.decisions.at(-1).reasons.includes(seed.known.rollbackReason));
    const jobs = (await get('/ui/api/jobs')).body;
    assert.equal(jobs.schedule.find((s: { job: string }) => s.job === 'ingest').cron, '*/5 * * * *');
    assert.equal(jobs.runs.find((r: { result: string }) => r.result === 'error').error, seed.known.jobError);
    // The scheduler's status, not "unknown": 3 of 4 ingest runs… (seed: ok, ok, error) and what each did.
    assert.deepEqual(
      jobs.summary.find((s: { job: string }) => s.job === 'ingest'),
      {
        job: 'ingest',
        last_at: jobs.summary.find((s: { job: string }) => s.job === 'ingest').last_at,
        last_result: 'error',
        runs: 3,
        ok: 2,
        p50_ms: 3900,
      },
    );
    assert.equal(
      jobs.runs.find((r: { job: string }) => r.job === 'retrain').detail,
      'gbdt-20250301030012-a1b2c3 promoted',
    );
    assert.equal(
      jobs.runs.find((r: { job: string; result: string }) => r.job === 'ingest' && r.result === 'ok').detail,
      'acme/web: 12 new',
    );
    const rep = (await get('/ui/api/reports?repo=acme/web&weeks=2')).body;
    assert.equal(rep.repo, 'acme/web');
    assert.equal(rep.dora.weeks.length, 2);
  });

  it('a corrupt champion artifact is reported on the model page, not a crash', async () => {
    const file = join(seed.modelsDir, seed.known.championId, 'model.json');
    const original = readFileSync(file);
    writeFileSync(file, original.toString().replace('"gbdt"', '"gbdT"'));
    const fresh = await serveDashboard(seed); // a new router: no cached evaluation
    try {
      const r = await fetch(`${fresh.url}/ui/api/model`, { headers: auth });
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.evaluation, null);
      assert.match(body.evaluation_error, /sha256/);
    } finally {
      writeFileSync(file, original);
      await fresh.close();
    }
  });
});
