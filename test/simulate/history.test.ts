import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunRecordSchema, failureLabel, type RunRecord } from '../../src/records/schema.ts';
import { SAMPLE_HISTORY_OPTIONS, SIM_DEFAULTS, simulateHistory } from '../../src/simulate/history.ts';

// One shared sample: the bundled default history is what everything else trains on.
const sample = simulateHistory(SAMPLE_HISTORY_OPTIONS);
const firstAttempts = sample.filter((r) => r.run_attempt === 1);

function failRate(runs: RunRecord[], pick: (r: RunRecord) => boolean): { rate: number; n: number } {
  let fail = 0;
  let n = 0;
  for (const r of runs) {
    const l = failureLabel(r.conclusion);
    if (l === null || !pick(r)) continue;
    fail += l;
    n++;
  }
  return { rate: fail / n, n };
}

test('same seed gives byte-identical output; a different seed a different one', () => {
  const a = JSON.stringify(simulateHistory({ seed: 5, runsPerRepo: 300 }));
  const b = JSON.stringify(simulateHistory({ seed: 5, runsPerRepo: 300 }));
  const c = JSON.stringify(simulateHistory({ seed: 6, runsPerRepo: 300 }));
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(JSON.stringify(sample), JSON.stringify(simulateHistory({ seed: 42 })));
});

test('a repo does not change when other repos are added (own stream per repo)', () => {
  const one = simulateHistory({ seed: 9, repos: ['acme/api'], runsPerRepo: 200 });
  const two = simulateHistory({ seed: 9, repos: ['acme/api', 'acme/zeta'], runsPerRepo: 200 }).filter(
    (r) => r.repo === 'acme/api',
  );
  assert.deepEqual(two, one);
});

test('default size: 3 repos x 2000 runs, every record passes the canonical schema unchanged', () => {
  assert.equal(sample.length, SIM_DEFAULTS.repos * SIM_DEFAULTS.runsPerRepo);
  const repos = new Set(sample.map((r) => r.repo));
  assert.equal(repos.size, 3);
  for (const r of sample) {
    assert.deepEqual(RunRecordSchema.parse(r), r);
    assert.match(r.head_sha!, /^[0-9a-f]{40}$/);
    assert.equal(r.files_changed, r.files === null ? null : r.files.length);
  }
});

test('records are sorted by (repo, created_at, run_id, attempt) and timestamps are consistent and not in the future', () => {
  const now = Date.now();
  for (let i = 0; i < sample.length; i++) {
    const r = sample[i];
    const created = Date.parse(r.created_at);
    assert.ok(Date.parse(r.run_started_at!) >= created, `started before created: ${r.run_id}`);
    assert.ok(Date.parse(r.completed_at!) >= Date.parse(r.run_started_at!), `completed before started: ${r.run_id}`);
    assert.ok(Date.parse(r.completed_at!) <= now);
    if (i > 0) {
      const p = sample[i - 1];
      const ordered =
        p.repo < r.repo ||
        (p.repo === r.repo &&
          (p.created_at < r.created_at ||
            (p.created_at === r.created_at &&
              (p.run_id < r.run_id || (p.run_id === r.run_id && p.run_attempt < r.run_attempt)))));
      assert.ok(ordered, `records ${i - 1} and ${i} out of order`);
    }
  }
});

test('realistic shape: workflows, events, branches, bots, conclusions', () => {
  const set = (f: (r: RunRecord) => string | null) => new Set(sample.map(f));
  assert.deepEqual([...set((r) => r.workflow)].sort(), ['ci', 'nightly']);
  assert.deepEqual([...set((r) => r.event)].sort(), ['pull_request', 'push', 'schedule', 'workflow_dispatch']);
  for (const r of sample) {
    if (r.event === 'schedule') assert.equal(r.workflow, 'nightly');
    if (r.event === 'push' || r.event === 'schedule') assert.equal(r.head_branch, 'main');
  }
  assert.ok(sample.some((r) => r.head_branch!.startsWith('dependabot/')));
  const bot = sample.filter((r) => r.actor === 'dependabot[bot]');
  assert.ok(bot.length > 20 && bot.every((r) => r.files!.includes('package-lock.json')));
  const conclusions = set((r) => r.conclusion);
  for (const c of ['success', 'failure', 'cancelled', 'timed_out']) assert.ok(conclusions.has(c), c);
  const overall = failRate(sample, () => true).rate;
  assert.ok(overall > 0.1 && overall < 0.4, `overall failure rate ${overall}`);
  const paths = sample.flatMap((r) => r.files ?? []);
  for (const p of [/^src\//, /^test\//, /^docs\//, /^package\.json$/, /^\.github\/workflows\/ci\.yml$/])
    assert.ok(
      paths.some((f) => p.test(f)),
      String(p),
    );
});

test('broken-main autocorrelation: a failure on a branch is followed by more failures than average', () => {
  const prev = new Map<string, 0 | 1>();
  let afterFail = 0;
  let afterFailN = 0;
  for (const r of firstAttempts) {
    const l = failureLabel(r.conclusion);
    if (l === null) continue;
    const k = `${r.repo} ${r.workflow} ${r.head_branch}`;
    if (prev.get(k) === 1) {
      afterFail += l;
      afterFailN++;
    }
    prev.set(k, l);
  }
  const overall = failRate(firstAttempts, () => true).rate;
  assert.ok(afterFailN > 200);
  assert.ok(afterFail / afterFailN > overall * 1.5, `after failure ${afterFail / afterFailN} vs overall ${overall}`);
});

test('fix-up commits: broken main is restored by a later push, mostly by a small change', () => {
  const mains = firstAttempts.filter((r) => r.head_branch === 'main' && r.workflow === 'ci' && r.event === 'push');
  let restores = 0;
  let smallRestores = 0;
  for (let i = 1; i < mains.length; i++) {
    if (mains[i].repo !== mains[i - 1].repo) continue;
    if (mains[i - 1].conclusion === 'failure' && mains[i].conclusion === 'success') {
      restores++;
      if ((mains[i].additions ?? 0) + (mains[i].deletions ?? 0) < 60) smallRestores++;
    }
  }
  assert.ok(restores > 30, `restores ${restores}`);
  assert.ok(smallRestores / restores > 0.3, `small restores ${smallRestores}/${restores}`);
});

test('risky paths, big changes, off-hours and authors drive failures', () => {
  const coded = firstAttempts.filter((r) => r.files !== null);
  const lock = failRate(coded, (r) => r.files!.includes('package-lock.json'));
  const noLock = failRate(coded, (r) => !r.files!.includes('package-lock.json'));
  assert.ok(lock.rate > noLock.rate * 1.2, `lockfile ${lock.rate} vs ${noLock.rate}`);
  const ci = failRate(coded, (r) => r.files!.some((f) => f.startsWith('.github/workflows/')));
  const noCi = failRate(coded, (r) => !r.files!.some((f) => f.startsWith('.github/workflows/')));
  assert.ok(ci.rate > noCi.rate * 1.2, `ci config ${ci.rate} vs ${noCi.rate}`);
  // Change size drives breaking a healthy line; on a broken line small fix-ups fail most (breakage lasts about
  // three runs), so size is compared among runs whose branch's previous outcome was a success.
  const afterGreen = new Set<RunRecord>();
  const lastOnBranch = new Map<string, number>();
  for (const r of firstAttempts) {
    const l = failureLabel(r.conclusion);
    const key = `${r.repo} ${r.head_branch}`;
    if (lastOnBranch.get(key) === 0) afterGreen.add(r);
    if (l !== null) lastOnBranch.set(key, l);
  }
  const churn = (r: RunRecord) => r.additions! + r.deletions!;
  const big = failRate(coded, (r) => afterGreen.has(r) && churn(r) >= 500);
  const small = failRate(coded, (r) => afterGreen.has(r) && churn(r) < 100);
  assert.ok(big.rate > small.rate * 1.15, `big ${big.rate} vs small ${small.rate}`);
  const humans = coded.filter((r) => !r.actor!.endsWith('[bot]'));
  const weekend = failRate(humans, (r) => [0, 6].includes(new Date(r.created_at).getUTCDay()));
  const weekday = failRate(humans, (r) => ![0, 6].includes(new Date(r.created_at).getUTCDay()));
  assert.ok(weekend.rate > weekday.rate * 1.2, `weekend ${weekend.rate} vs weekday ${weekday.rate}`);
  const byActor = new Map<string, RunRecord[]>();
  for (const r of humans) byActor.set(`${r.repo} ${r.actor}`, [...(byActor.get(`${r.repo} ${r.actor}`) ?? []), r]);
  const rates = [...byActor.values()].filter((rs) => rs.length >= 100).map((rs) => failRate(rs, () => true).rate);
  assert.ok(Math.max(...rates) - Math.min(...rates) > 0.1, `author spread ${rates}`);
});

test('busier weekday working hours', () => {
  const count = (f: (h: number, d: number) => boolean) =>
    sample.filter(
      (r) => r.event !== 'schedule' && f(new Date(r.created_at).getUTCHours(), new Date(r.created_at).getUTCDay()),
    ).length;
  const workHour = count((h, d) => d >= 1 && d <= 5 && h >= 9 && h < 17) / (5 * 8);
  const night = count((h, d) => d >= 1 && d <= 5 && (h < 6 || h >= 22)) / (5 * 8);
  assert.ok(workHour > night * 5, `per-hour-slot ${workHour} vs ${night}`);
});

test('flaky re-runs: some failed first attempts pass on attempt 2 with the same sha', () => {
  const byRun = new Map<string, RunRecord[]>();
  for (const r of sample) byRun.set(`${r.repo} ${r.run_id}`, [...(byRun.get(`${r.repo} ${r.run_id}`) ?? []), r]);
  let flaky = 0;
  let reruns = 0;
  for (const attempts of byRun.values()) {
    if (attempts.length < 2) continue;
    reruns++;
    const [a1, a2] = attempts;
    assert.equal(a2.run_attempt, a1.run_attempt + 1);
    assert.equal(a2.head_sha, a1.head_sha);
    assert.equal(a2.created_at, a1.created_at);
    assert.ok(Date.parse(a2.run_started_at!) >= Date.parse(a1.completed_at!));
    assert.ok(['failure', 'timed_out'].includes(a1.conclusion!));
    if (a2.conclusion === 'success') flaky++;
  }
  assert.ok(reruns > 100, `reruns ${reruns}`);
  assert.ok(flaky > 20 && flaky < reruns, `flaky ${flaky}/${reruns}`);
});

test('infrastructure outages: failures cluster in the same hours across repos', () => {
  // Hours where at least two repos each fail 2+ runs; independent failures would almost never line up like that.
  const hourly = new Map<number, Map<string, number>>();
  for (const r of firstAttempts) {
    if (failureLabel(r.conclusion) !== 1) continue;
    const h = Math.floor(Date.parse(r.run_started_at!) / 3600_000);
    const m = hourly.get(h) ?? new Map<string, number>();
    m.set(r.repo, (m.get(r.repo) ?? 0) + 1);
    hourly.set(h, m);
  }
  const shared = [...hourly.values()].filter((m) => [...m.values()].filter((n) => n >= 2).length >= 2).length;
  assert.ok(shared >= 3, `shared failure hours ${shared}`);
});

test('timezone moves the busy hours', () => {
  const tokyo = simulateHistory({ seed: 42, repos: 1, runsPerRepo: 800, timezone: 'Asia/Tokyo' });
  const utcBusy = (runs: RunRecord[]) =>
    runs.filter((r) => {
      const h = new Date(r.created_at).getUTCHours();
      return h >= 9 && h < 17;
    }).length / runs.length;
  assert.ok(utcBusy(tokyo) < 0.3, `Tokyo team in UTC office hours ${utcBusy(tokyo)}`);
  assert.ok(utcBusy(sample) > 0.6);
});

test('bad options are rejected with the option named', () => {
  assert.throws(() => simulateHistory({ seed: -1 }), /seed/);
  assert.throws(() => simulateHistory({ runsPerRepo: 0 }), /runsPerRepo/);
  assert.throws(() => simulateHistory({ repos: 0 }), /repos/);
  assert.throws(() => simulateHistory({ repos: ['nope'] }), /repos: "nope"/);
  assert.throws(() => simulateHistory({ start: 'yesterday' }), /start/);
  assert.throws(() => simulateHistory({ timezone: 'Mars/Olympus' }), /timezone/);
  assert.throws(() => simulateHistory({ start: new Date(Date.now() - 86_400_000).toISOString() }), /in the future/);
});
