/**
 * Drives every dashboard page in headless Chromium against a seeded store: real data on each page, charts
 * with plotted points, no console errors, and no request leaving 127.0.0.1. Screenshots go to
 * test-artifacts/dashboard/ for a human look.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/sqlite.ts';
import { seedDashboard, serveDashboard, TEST_KEY, type Seeded } from './seed.ts';
import { runRecord } from '../support/runs.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SHOTS = join(process.cwd(), 'test-artifacts', 'dashboard');

type PW = typeof import('playwright-core');
type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

async function loadPlaywright(): Promise<{ pw?: PW; reason?: string }> {
  if (!existsSync(CHROMIUM)) return { reason: `${CHROMIUM} not found (apt-get install -y chromium)` };
  try {
    return { pw: (await import('playwright-core')) as PW };
  } catch {
    return { reason: 'playwright-core is not installed (devDependency)' };
  }
}

const env = await loadPlaywright();

function skipOrFail(t: TestContext): boolean {
  if (env.pw) return false;
  if (process.env.CI === 'true') assert.fail(`dashboard e2e cannot run in CI: ${env.reason}`);
  t.skip(env.reason);
  return true;
}

describe('dashboard in a browser', () => {
  let seed: Seeded;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser | undefined;
  const offHost: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    if (!env.pw) return;
    seed = await seedDashboard();
    server = await serveDashboard(seed);
    browser = await env.pw.chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    seed?.close();
  });

  /** A fresh page that records console errors and blocks (and records) anything not on 127.0.0.1. */
  async function newPage(
    viewport = { width: 1280, height: 900 },
    colorScheme: 'light' | 'dark' = 'light',
  ): Promise<Page> {
    const context = await browser!.newContext({ viewport, colorScheme });
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.protocol === 'data:' || u.hostname === '127.0.0.1') return route.continue();
      offHost.push(u.href);
      return route.abort();
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    return page;
  }

  async function signIn(page: Page, path = '/'): Promise<void> {
    await page.goto(server.url + path);
    await page.getByLabel('Key with the "score" scope').fill(TEST_KEY);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  const pathPoints = (d: string | null) => (d ?? '').split(/[MLHV]/).filter(Boolean).length;

  it('asks for a key, then shows the overview with seeded risk checks and the failure-rate chart', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await page.goto(server.url + '/');
    await page.getByRole('heading', { name: 'API key' }).waitFor();
    await page.screenshot({ path: join(SHOTS, '00-key.png') });
    await signIn(page);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const table = page.getByRole('table', { name: /Latest risk checks/ });
    assert.equal(await table.locator('tbody tr').count(), seed.known.riskCount);
    const first = table.locator('tbody tr').first();
    assert.match(
      await first.innerText(),
      new RegExp(
        `${seed.known.riskHigh.repo}[\\s\\S]*${seed.known.riskHigh.head_sha.slice(0, 8)}[\\s\\S]*83\\.0 %[\\s\\S]*high[\\s\\S]*failure`,
      ),
    );
    assert.match(await table.innerText(), /pending/, 'a check whose run has not finished is shown as pending');
    const lines = page.locator('figure svg path.line');
    assert.equal(await lines.count(), 3, 'one line per repo plus all repos');
    assert.ok(pathPoints(await lines.first().getAttribute('d')) >= 4, 'the weekly failure rate has a point per week');
    assert.match(await page.locator('.stats').innerText(), /1,400/);
    assert.match(await page.locator('.stats').innerText(), new RegExp(seed.known.championId));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('riskgate.apiKey')), TEST_KEY);
    await page.screenshot({ path: join(SHOTS, '01-overview.png'), fullPage: true });
    await page.context().close();
  });

  it('model page draws ROC, PR, calibration, confusion and importance from the champion', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await signIn(page, '/ui/model');
    await page.getByRole('heading', { name: 'Model', exact: true }).waitFor();
    for (const name of ['ROC curve', 'Precision-recall curve', 'Calibration plot']) {
      const svg = page.getByRole('img', { name: new RegExp(`^${name}`) });
      assert.ok(
        pathPoints(await svg.locator('path.line').first().getAttribute('d')) >= 3,
        `${name} has plotted points`,
      );
    }
    const counts = (await page.locator('svg.confusion .cm-count').allTextContents()).map(Number);
    assert.equal(counts.length, 4);
    const model = await (
      await fetch(`${server.url}/ui/api/model`, { headers: { Authorization: `Bearer ${TEST_KEY}` } })
    ).json();
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      model.evaluation.rows,
      'confusion cells add up to the evaluated rows',
    );
    assert.ok((await page.locator('svg.bars rect.bar').count()) >= 3, 'feature importance bars');
    assert.match(
      await page.getByRole('table', { name: /Every candidate/ }).innerText(),
      /gbdt \(champion\)[\s\S]*baseline/,
    );
    assert.match(
      await page.getByRole('table', { name: /Per-repo backtest/ }).innerText(),
      new RegExp(seed.known.backtestRepo),
    );
    assert.match(
      await page.getByRole('table', { name: /registered model versions/ }).innerText(),
      new RegExp(`${seed.known.challengerId}[\\s\\S]*challenger`),
    );
    await page.screenshot({ path: join(SHOTS, '02-model.png'), fullPage: true });
    await page.context().close();
  });

  it('risk check detail shows the waterfall from base through each factor to the final probability', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await signIn(page);
    await page
      .getByRole('link', {
        name: new RegExp(
          `Details of the risk check for ${seed.known.riskHigh.repo} ${seed.known.riskHigh.head_sha.slice(0, 8)}`,
        ),
      })
      .click();
    await page.getByRole('heading', { name: /^Risk check/ }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/ui/risk/${seed.known.riskHigh.id}`);
    const bars = page.locator('svg.waterfall rect.wf-bar');
    assert.equal(await bars.count(), seed.known.riskHigh.factors.length + 2, 'base + one bar per factor + final');
    assert.equal(await page.locator('svg.waterfall rect.wf-up').count(), 3);
    assert.equal(await page.locator('svg.waterfall rect.wf-down').count(), 1);
    assert.match((await page.locator('svg.waterfall').textContent()) ?? '', /83\.0 %/);
    // Names and values as a person reads them, not `fail_rate_20 = 0.45`.
    assert.match(
      await page.getByRole('table', { name: /Features that moved/ }).innerText(),
      /Failure rate, last 20 runs\s+45 %\s+\+0\.920/,
    );
    assert.match((await page.locator('svg.waterfall').textContent()) ?? '', /Friday afternoon: yes/);
    assert.doesNotMatch((await page.locator('svg.waterfall').textContent()) ?? '', /fail_rate_20|=/);
    assert.match(await page.locator('.stats').innerText(), /failure/);
    await page.screenshot({ path: join(SHOTS, '03-risk.png'), fullPage: true });
    // Back button returns to the overview without a reload.
    await page.goBack();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.context().close();
  });

  it('canary page steps the weight over time with decision markers, reasons and metrics', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await signIn(page, '/ui/canary');
    await page.getByRole('heading', { name: 'Canary checkout' }).waitFor();
    const step = page.locator('svg path.step');
    assert.ok(pathPoints(await step.getAttribute('d')) >= 6, 'one step per decision');
    assert.equal(await page.locator('svg .markers > *').count(), 6);
    assert.equal(await page.locator('svg .marker.action-promote').count(), 1);
    assert.equal(await page.locator('svg .marker.action-hold').count(), 1);
    const log = await page.getByRole('table', { name: /Decisions for checkout/ }).innerText();
    assert.match(log, /latency_p99 inconclusive/);
    assert.match(log, /error_rate: canary 0\.016 vs baseline 0\.012/);
    await page.screenshot({ path: join(SHOTS, '04-canary.png'), fullPage: true });
    await page.getByLabel('Service').selectOption('payments');
    await page.getByRole('heading', { name: 'Canary payments' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('service'), 'payments');
    assert.equal(await page.locator('svg .marker.action-rollback').count(), 1);
    const log2 = await page.getByRole('table', { name: /Decisions for payments/ }).innerText();
    assert.ok(log2.includes(seed.known.rollbackReason));
    assert.match(log2, /10 → 0 %[\s\S]*rollback[\s\S]*canary 0\.0641 vs baseline 0\.01 \(High\)/);
    await page.screenshot({ path: join(SHOTS, '05-canary-rollback.png'), fullPage: true });
    await page.context().close();
  });

  it('jobs page lists the schedule, per-job status and the failed run with its error', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await signIn(page, '/ui/jobs');
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    assert.match(
      await page.getByRole('table', { name: /Scheduled jobs/ }).innerText(),
      /ingest[\s\S]*\*\/15 \* \* \* \*/,
    );
    assert.match(await page.getByRole('table', { name: /Per job/ }).innerText(), /ingest[\s\S]*error[\s\S]*2 \/ 3/);
    const runs = await page.getByRole('table', { name: /Job runs/ }).innerText();
    assert.ok(runs.includes(seed.known.jobError));
    assert.match(
      runs,
      /retrain[\s\S]*ok[\s\S]*gbdt-20250301030012-a1b2c3 promoted/,
      'a real job event reads ok, with what it did',
    );
    assert.doesNotMatch(await page.getByRole('table', { name: /Per job/ }).innerText(), /unknown/);
    await page.screenshot({ path: join(SHOTS, '06-jobs.png'), fullPage: true });
    await page.context().close();
  });

  it('reports page shows DORA figures per week for the chosen repo', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await signIn(page, '/ui/reports');
    await page.getByRole('heading', { name: /^Reports acme\/api/ }).waitFor();
    await page.getByLabel('Repo').selectOption('acme/web');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: 'Reports acme/web' }).waitFor();
    const api = await (
      await fetch(`${server.url}/ui/api/reports?repo=acme/web&weeks=12`, {
        headers: { Authorization: `Bearer ${TEST_KEY}` },
      })
    ).json();
    const rows = page.getByRole('table', { name: /DORA figures per week for acme\/web/ }).locator('tbody tr');
    assert.equal(await rows.count(), api.dora.weeks.length);
    const newest = api.dora.weeks.at(-1);
    assert.match(await rows.first().innerText(), new RegExp(`${newest.week_start}\\s+${newest.deployments}\\b`));
    assert.ok(pathPoints(await page.locator('svg path.line').first().getAttribute('d')) >= 2);
    await page.screenshot({ path: join(SHOTS, '07-reports.png'), fullPage: true });
    await page.context().close();
  });

  it('is usable on a phone-sized screen (no horizontal scrolling of the page), in the dark theme too', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage({ width: 390, height: 844 }, 'dark');
    await signIn(page, '/ui/model');
    await page.getByRole('heading', { name: 'Model', exact: true }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: join(SHOTS, '08-model-mobile-dark.png'), fullPage: true });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(15, 20, 27)', 'dark theme applies');
    await page.context().close();
  });

  it('a wrong key brings the key prompt back with the server’s reason and is not kept', async (t) => {
    if (skipOrFail(t)) return;
    const page = await newPage();
    await page.goto(server.url + '/ui/jobs');
    await page.getByLabel('Key with the "score" scope').fill('not-the-key');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown API key' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('riskgate.apiKey')), null);
    await page.context().close();
    // The 401 is expected, so it is not a console error worth failing on.
    for (let i = consoleErrors.length - 1; i >= 0; i--) if (/401/.test(consoleErrors[i])) consoleErrors.splice(i, 1);
  });

  it('a fresh install (empty store, no models, no key needed) shows every page with its empty state', async (t) => {
    if (skipOrFail(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'riskgate-dash-empty-'));
    const store = openStore(join(dir, 'empty.db'));
    const empty = await serveDashboard({ store, modelsDir: join(dir, 'models') }, { authRequired: false });
    try {
      const page = await newPage();
      const expect: [string, RegExp][] = [
        ['/', /No risk checks recorded yet/],
        ['/ui/model', /No model is registered as champion yet/],
        ['/ui/canary', /No canary decisions recorded yet/],
        ['/ui/jobs', /No job has run yet/],
        ['/ui/reports', /No runs stored yet/],
        ['/ui/nowhere', /There is no dashboard page at \/ui\/nowhere/],
      ];
      for (const [path, text] of expect) {
        await page.goto(empty.url + path);
        await page.locator('main').getByText(text).waitFor();
        assert.equal(
          await page.getByLabel('Key with the "score" scope').count(),
          0,
          'no key prompt when the server needs none',
        );
      }
      await page.context().close();
    } finally {
      await empty.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports for a repo whose history is mostly older than the window say where its data is', async (t) => {
    if (skipOrFail(t)) return;
    // Sample history from 2023 and one run posted this week (the README's newcomer: sample dated 2025, an
    // outcome posted today): the 4-week window holds 1 of 4 runs and used to say nothing about the rest.
    const run = (i: number, created_at: string) => runRecord({ repo: 'zz-old/history', run_id: String(i), created_at });
    seed.store.upsertRuns([
      run(0, '2023-03-01T10:00:00.000Z'),
      run(1, '2023-03-02T10:00:00.000Z'),
      run(2, '2023-03-03T10:00:00.000Z'),
      run(3, new Date(Date.now() - 3600_000).toISOString()),
    ]);
    const page = await newPage();
    await signIn(page, '/ui/reports?repo=zz-old%2Fhistory&weeks=4');
    await page.getByRole('heading', { name: 'Reports zz-old/history' }).waitFor();
    const hint = page.locator('.card', { hasText: 'Most runs are outside this window' });
    assert.match(
      await hint.innerText(),
      /These 4 weeks \(the newest weeks with runs\) hold 1 of the 4 runs stored for zz-old\/history, which date from 2023-03-01 to \d{4}-\d\d-\d\d/,
    );
    assert.equal(
      await hint.getByRole('link', { name: 'Show up to 520 weeks' }).getAttribute('href'),
      '/ui/reports?repo=zz-old%2Fhistory&weeks=520',
    );
    assert.ok(
      await page.getByRole('heading', { name: 'Change failure rate and run failure rate per week' }).isVisible(),
      'the chart title names what it plots',
    );
    assert.match(
      (await page.locator('svg.chart .tick').allTextContents()).join(' '),
      /\b20\d\d-\d\d-\d\d\b/,
      'the first week tick carries its year',
    );
    // Overview: the weeks between 2023 and now are a gap in the line, not one step.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const d = (await page.locator('path.line[data-series="zz-old/history"]').getAttribute('d')) ?? '';
    assert.equal(d.match(/M/g)?.length, 2, `a break between the 2023 runs and this week's (${d})`);
    const ticks = (await page.locator('svg.chart').first().locator('.tick').allTextContents()).join(' ');
    assert.match(ticks, /2023-02-27/, 'the axis starts at the first week, with its year');
    assert.match(ticks, /202[4-9]-\d\d-\d\d/, 'a later year is written out where it changes');
    await page.screenshot({ path: join(SHOTS, '09-overview-gap.png'), fullPage: true });
    await page.screenshot({ path: join(SHOTS, '08-reports-empty-window.png'), fullPage: true });
    await page.context().close();
  });

  it('canary chart draws each version as its own line and shows how each ended', async (t) => {
    if (skipOrFail(t)) return;
    // One service, two rollouts: v1 rolled back, v2 promoted and its outcome posted to /v1/canary/outcome.
    const base = Date.parse('2025-02-10T09:00:00Z');
    const at = (m: number) => new Date(base + m * 60_000).toISOString();
    const steps: [string, number, number, string][] = [
      ['v1', 0, 5, 'increase'],
      ['v1', 5, 0, 'rollback'],
      ['v2', 0, 5, 'increase'],
      ['v2', 5, 50, 'increase'],
      ['v2', 50, 100, 'promote'],
    ];
    steps.forEach(([version, from, to, action], i) =>
      seed.store.appendEvent('canary', 'orders', {
        service: 'orders',
        version,
        from_weight: from,
        weight: to,
        action,
        reasons: [`${action} ${version}`],
        at: at(i * 5),
      }),
    );
    seed.store.appendEvent('canary_outcome', 'orders', { service: 'orders', version: 'v2', outcome: 'promoted' });
    const page = await newPage();
    await signIn(page, '/ui/canary?service=orders');
    await page.getByRole('heading', { name: 'Canary orders' }).waitFor();
    assert.deepEqual(
      await page
        .locator('svg path.step')
        .evaluateAll((ps) => ps.map((p) => [p.getAttribute('data-series'), p.getAttribute('data-points')])),
      [
        ['v1', '2'],
        ['v2', '3'],
      ],
    );
    const outcome = await page.getByRole('table', { name: /How each version of orders ended/ }).innerText();
    assert.match(outcome, /v1\s+rolled back\s+last decision/);
    assert.match(outcome, /v2\s+promoted\s+recorded/);
    await page.screenshot({ path: join(SHOTS, '10-canary-versions.png'), fullPage: true });
    await page.context().close();
  });

  it('made no request off 127.0.0.1 and logged no console errors', (t) => {
    if (skipOrFail(t)) return;
    assert.deepEqual(offHost, []);
    assert.deepEqual(consoleErrors, []);
  });
});
