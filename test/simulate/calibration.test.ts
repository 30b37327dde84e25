/**
 * The bundled sample's dynamics against those measured on real histories (training/history-stats.ts;
 * the figures are in the comments on SIM_PARAMS), and its placement relative to now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sampleHistory, simulateHistory, SAMPLE_HISTORY_OPTIONS } from '../../src/simulate/history.ts';
import { historyStats } from '../../training/history-stats.ts';
import { loadRunFiles } from '../../src/records/load.ts';

const WEEK = 7 * 24 * 3600_000;
const NOW = Date.parse('2026-12-05T08:00:00Z');

test('the sample fails like real CI: after a failure, after a success, streak lengths, base rate', () => {
  const s = historyStats(simulateHistory(SAMPLE_HISTORY_OPTIONS));
  // dlci-dev: 0.696 / 0.197 / 3.29 runs / 30 % first failures / 0.357 per-repo base rate (0.39 pooled).
  const within = (name: keyof typeof s, lo: number, hi: number) =>
    assert.ok((s[name] as number) >= lo && (s[name] as number) <= hi, `${name} ${s[name]} not in [${lo}, ${hi}]`);
  within('p_fail_after_fail', 0.63, 0.76);
  within('p_fail_after_success', 0.14, 0.24);
  within('fail_streak_mean', 2.8, 3.8);
  within('first_failure_share', 0.25, 0.37);
  within('base_rate_pooled', 0.32, 0.44);
  within('same_commit_flip_share', 0.06, 0.15);
  assert.ok(s.base_rate_max - s.base_rate_min > 0.1, `repos differ: ${s.base_rate_min}–${s.base_rate_max}`);
});

test('sampleHistory(now) ends in the week before now, per repo, moved by whole weeks only', () => {
  const fixed = simulateHistory(SAMPLE_HISTORY_OPTIONS);
  const live = sampleHistory(NOW);
  assert.equal(live.length, fixed.length);
  const shifts = new Map<string, number>();
  for (let i = 0; i < live.length; i++) {
    const a = fixed[i],
      b = live[i];
    const shift = Date.parse(b.created_at) - Date.parse(a.created_at);
    assert.equal(shift % WEEK, 0, 'whole weeks keep weekdays and local hours');
    if (!shifts.has(a.repo)) shifts.set(a.repo, shift);
    assert.equal(shift, shifts.get(a.repo), 'one shift per repo');
    assert.deepEqual(
      { ...b, created_at: a.created_at, run_started_at: a.run_started_at, completed_at: a.completed_at },
      a,
    );
    if (b.completed_at) assert.equal(Date.parse(b.completed_at) - Date.parse(a.completed_at!), shift);
  }
  for (const repo of shifts.keys()) {
    const end = Math.max(...live.filter((r) => r.repo === repo).map((r) => Date.parse(r.completed_at ?? r.created_at)));
    assert.ok(end < NOW && end >= NOW - WEEK, `${repo} ends ${new Date(end).toISOString()}`);
  }
  assert.deepEqual(sampleHistory(NOW), live, 'the same instant gives the same history');
  assert.throws(() => simulateHistory({ endBefore: NaN }), /endBefore/);
});

const DLCI = join(import.meta.dirname, '../../../shared/datasets/dlci-dev.jsonl.gz');

test(
  'the real-history figures quoted in SIM_PARAMS are what history-stats measures on dlci-dev',
  { skip: existsSync(DLCI) ? false : `needs ${DLCI}` },
  async () => {
    const s = historyStats(await loadRunFiles([DLCI], () => {}));
    assert.equal(s.runs, 46611);
    assert.equal(s.p_fail_after_fail.toFixed(3), '0.696');
    assert.equal(s.p_fail_after_success.toFixed(3), '0.197');
    assert.equal(s.fail_streak_mean.toFixed(2), '3.29');
    assert.equal(s.base_rate.toFixed(3), '0.357');
    assert.equal(s.first_failure_share.toFixed(2), '0.30');
  },
);
