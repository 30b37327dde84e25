/**
 * Issue 16.7: events were never pruned (+43 MB per 50k risk checks) and every deployment kept its rollout
 * state row forever. Retention deletes both in small batches, yielding to the event loop between them, with
 * the clock injected (rows are aged by rewriting their timestamps through the raw connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { pruneOnce } from '../../src/store/retention.ts';
import { openStore, rawConnection } from '../../src/store/sqlite.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');

test('events past the retention are deleted in batches off the hot path; newer ones and other state stay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-retention-'));
  const store = openStore(join(dir, 'riskgate.db'));
  try {
    for (let i = 0; i < 2500; i++)
      store.appendEvent('risk', `acme/web`, { i }, i % 10 === 0 ? Buffer.alloc(1000) : undefined);
    for (let i = 0; i < 10; i++) store.appendEvent('canary_decision', 'svc', { fresh: i });
    const raw = rawConnection(store)!;
    raw.prepare("UPDATE events SET at = ? WHERE kind = 'risk'").run(new Date(NOW - 91 * DAY).toISOString());
    raw.prepare("UPDATE events SET at = ? WHERE kind = 'canary_decision'").run(new Date(NOW - 89 * DAY).toISOString());

    const rollout = (daysAgo: number) =>
      JSON.stringify({ state: {}, decided_at: NOW - daysAgo * DAY, changed_at: 0, weight: 0, started_at: 0 });
    store.setState('canary:old@v1', rollout(31));
    store.setState('canary:recent@v2', rollout(29));
    store.setState('canary:broken@v3', '{not json');
    store.setState('ingest:cursor:acme/web', JSON.stringify({ decided_at: 0 })); // not a rollout: never touched

    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    const r = await pruneOnce(store, { eventDays: 90, rolloutDays: 30 }, { now: () => NOW, batch: 500 });

    assert.equal(r.events, 2500);
    assert.equal(r.rollouts, 1);
    assert.ok(r.batches >= 5, `${r.batches} batches of at most 500`);
    assert.ok(immediateRan, 'the event loop ran between batches');
    assert.equal(store.listEvents('risk', { limit: 10_000 }).length, 0);
    assert.equal(store.listEvents('canary_decision', { limit: 100 }).length, 10);
    assert.equal(store.getState('canary:old@v1'), undefined);
    assert.ok(store.getState('canary:recent@v2'));
    assert.ok(store.getState('canary:broken@v3'), 'an unreadable row is left for a person, not deleted blindly');
    assert.ok(store.getState('ingest:cursor:acme/web'));
    // Nothing left to do: a second pass deletes nothing.
    assert.deepEqual(
      { ...(await pruneOnce(store, { eventDays: 90, rolloutDays: 30 }, { now: () => NOW, batch: 500 })), batches: 0 },
      { events: 0, rollouts: 0, batches: 0 },
    );
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('0 days keeps everything', async () => {
  const store = openStore(':memory:');
  store.appendEvent('risk', 'acme/web', {});
  rawConnection(store)!.prepare('UPDATE events SET at = ?').run('2000-01-01T00:00:00.000Z');
  store.setState('canary:a@b', JSON.stringify({ decided_at: 0 }));
  const r = await pruneOnce(store, { eventDays: 0, rolloutDays: 0 }, { now: () => NOW });
  assert.deepEqual([r.events, r.rollouts], [0, 0]);
  assert.equal(store.listEvents('risk').length, 1);
  store.close();
});

test('retention settings: defaults, 0 = keep forever, bad values name the variable', () => {
  assert.deepEqual(loadConfig({}).retention, { eventDays: 90, rolloutDays: 30 });
  assert.deepEqual(loadConfig({ RISKGATE_EVENT_RETENTION_DAYS: '0', RISKGATE_ROLLOUT_RETENTION_DAYS: '7' }).retention, {
    eventDays: 0,
    rolloutDays: 7,
  });
  assert.throws(() => loadConfig({ RISKGATE_EVENT_RETENTION_DAYS: '-1' }), /RISKGATE_EVENT_RETENTION_DAYS/);
  assert.throws(() => loadConfig({ RISKGATE_ROLLOUT_RETENTION_DAYS: 'soon' }), /RISKGATE_ROLLOUT_RETENTION_DAYS/);
});

test('the server prunes with its configured retention', async () => {
  const { startServer } = await import('../../src/commands/serve.ts');
  const { fixedScorer, silent, testConfig } = await import('../api/helpers.ts');
  const dir = mkdtempSync(join(tmpdir(), 'rg-retention-srv-'));
  const store = openStore(join(dir, 'riskgate.db'));
  const running = await startServer(
    testConfig({
      PORT: '0',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_EVENT_RETENTION_DAYS: '7',
    }),
    {
      logger: silent,
      store,
      scorer: fixedScorer(0.2),
    },
  );
  try {
    store.appendEvent('risk', 'acme/web', {});
    store.appendEvent('risk', 'acme/web', {});
    rawConnection(store)!
      .prepare('UPDATE events SET at = ? WHERE seq = (SELECT min(seq) FROM events)')
      .run(new Date(Date.now() - 8 * DAY).toISOString());
    assert.ok(running.retention);
    const r = await running.retention.run();
    assert.equal(r.events, 1);
    assert.equal(store.listEvents('risk').length, 1);
  } finally {
    await running.shutdown();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
