import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/features/frame.ts';
import { liveFeatures } from '../../src/features/live.ts';
import { FEATURES } from '../../src/features/definition.ts';
import { Calendar } from '../../src/features/calendar.ts';
import { compareCreatedOrder } from '../../src/features/history.ts';
import { failureLabel } from '../../src/records/schema.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { randomHistory } from '../support/runs.ts';

test('training frame and serving features agree for every run (no training/serving skew)', () => {
  const runs = randomHistory(7, 700).sort((a, b) => a.repo.localeCompare(b.repo) || compareCreatedOrder(a, b));
  const calendar = new Calendar('Europe/Berlin');
  const frame = buildFrame(runs, { calendar });
  const store = openStore(':memory:');
  store.upsertRuns(runs);
  const labelled = runs.filter((r) => failureLabel(r.conclusion) !== null);
  assert.equal(frame.n, labelled.length);
  let compared = 0;
  for (let i = 0; i < labelled.length; i += 7) {
    const live = liveFeatures(labelled[i], store, { calendar });
    for (let j = 0; j < FEATURES.length; j++) {
      const a = frame.X[i * frame.d + j];
      const b = Math.fround(live[j]);
      assert.ok(
        Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)),
        `run ${i} feature ${FEATURES[j]}: frame ${a} vs live ${b}`,
      );
    }
    compared++;
  }
  assert.ok(compared > 150);
  store.close();
});
