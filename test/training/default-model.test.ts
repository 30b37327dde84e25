/**
 * The embedded default model (trained at first start on the bundled sample) must behave like one trained on
 * real history (issue 19.5): a branch failing its last runs scores well above its base rate, a long green
 * streak below it, and a repo with 100 straight failures is not "low". Driven through the HTTP API as a user
 * would, at fixed instants (the sample is placed relative to the injected clock, so any hour of any day
 * gives the same answers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureChampion } from '../../training/bootstrap.ts';
import { createModelScorer } from '../../src/serving/model-scorer.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { failureLabel } from '../../src/records/schema.ts';
import { call, serveApp } from '../api/helpers.ts';

const HOUR = 3600_000;
// A Monday morning inside the default high-risk window, a Wednesday noon, a Saturday night.
const INSTANTS = ['2026-11-30T08:00:00Z', '2026-12-02T12:00:00Z', '2026-11-28T22:30:00Z'];

const iso = (ms: number) => new Date(ms).toISOString();
const run = (repo: string, i: number, createdMs: number, conclusion: string, extra: Record<string, unknown> = {}) => ({
  repo,
  run_id: `t${i}`,
  created_at: iso(createdMs),
  run_started_at: iso(createdMs + 60_000),
  completed_at: iso(createdMs + 9 * 60_000),
  head_branch: 'main',
  event: 'push',
  conclusion,
  ...extra,
});

for (const at of INSTANTS) {
  test(`default model sanity at ${at}`, async () => {
    const now = Date.parse(at);
    const dir = mkdtempSync(join(tmpdir(), 'riskgate-default-'));
    const store = openStore(':memory:');
    try {
      assert.equal(await ensureChampion({ store, modelsDir: dir, now: () => now }), 'trained-on-sample');
      const scorer = await createModelScorer({ store, modelsDir: dir, pollMs: 0 });
      const s = await serveApp({ store, scorer });
      try {
        const risk = async (body: Record<string, unknown>) => {
          const r = await call(s.url, 'POST', '/v1/risk', {
            head_branch: 'main',
            event: 'push',
            created_at: iso(now),
            ...body,
          });
          assert.equal(r.status, 200, r.text);
          return r.body as { probability: number; risk_level: string; note?: string };
        };

        // A repo nobody has seen: the answer says it has no history to go on.
        const fresh = await risk({ repo: 'scale/out' });
        assert.match(fresh.note ?? '', /no finished runs of scale\/out/);

        // 100 consecutive failures of scale/out on main, one an hour, each completed (the scenario).
        const fails = Array.from({ length: 100 }, (_, i) => run('scale/out', i, now - (100 - i) * HOUR, 'failure'));
        assert.equal((await call(s.url, 'POST', '/v1/outcomes', { runs: fails })).status, 200);
        const after = await risk({ repo: 'scale/out' });
        assert.equal(after.note, undefined, 'history is known now');
        assert.ok(
          after.probability > 0.7 && after.risk_level === 'high',
          `after 100 failures: ${after.probability} ${after.risk_level}`,
        );

        // acme/api's main: its base rate, then after three failures, then after a long green streak.
        const mainRuns = [...store.iterateRuns({ repo: 'acme/api' })].filter(
          (r) => r.head_branch === 'main' && r.workflow === 'ci',
        );
        const labels = mainRuns.map((r) => failureLabel(r.conclusion)).filter((l): l is 0 | 1 => l !== null);
        const base = labels.reduce<number>((a, b) => a + b, 0) / labels.length;
        const last = Math.max(...mainRuns.map((r) => Date.parse(r.completed_at ?? r.created_at)));
        const t0 = Math.max(last, now - 48 * HOUR) + HOUR;
        const ask = (k: number) =>
          risk({ repo: 'acme/api', workflow: 'ci', created_at: iso(t0 + k * HOUR + 30 * 60_000) });
        const red = Array.from({ length: 3 }, (_, i) =>
          run('acme/api', 1000 + i, t0 + i * HOUR, 'failure', { workflow: 'ci' }),
        );
        await call(s.url, 'POST', '/v1/outcomes', { runs: red });
        const failing = await ask(2);
        assert.ok(
          failing.probability > base + 0.25,
          `failing its last 3 runs: ${failing.probability} vs base rate ${base.toFixed(3)}`,
        );
        const green = Array.from({ length: 25 }, (_, i) =>
          run('acme/api', 2000 + i, t0 + (3 + i) * HOUR, 'success', { workflow: 'ci' }),
        );
        await call(s.url, 'POST', '/v1/outcomes', { runs: green });
        const calm = await ask(27);
        assert.ok(calm.probability < base, `after 25 green runs: ${calm.probability} vs base rate ${base.toFixed(3)}`);
      } finally {
        await s.close();
        scorer.close();
      }
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
