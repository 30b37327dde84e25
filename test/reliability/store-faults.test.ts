import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunningServer } from '../../src/commands/serve.ts';
import { openStore, rawConnection } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { call } from '../api/helpers.ts';
import { serveTrained } from '../support/serve.ts';

/**
 * Real SQLite faults on the serving connection (no thrown fakes): a full disk (PRAGMA max_page_count at the
 * current size → SQLITE_FULL for any write that needs space) and a read-only database (PRAGMA query_only →
 * SQLITE_READONLY for every write). Risk checks keep being answered by the champion from the store's reads
 * and the in-memory history cache; writes are a 503 store_unavailable, /health and /ready say so, nothing
 * is half-written, and everything works again once the fault is lifted.
 */

const risk = {
  repo: 'acme/web',
  head_branch: 'main',
  event: 'push',
  actor: 'dev1',
  files: ['package-lock.json', 'src/a.ts'],
  additions: 40,
  deletions: 3,
};

function outcome(i: number, conclusion = 'success') {
  return {
    repo: 'acme/web',
    run_id: `fault-${i}`,
    workflow: 'ci',
    created_at: new Date(Date.parse('2024-06-01T00:00:00Z') + i * 60_000).toISOString(),
    completed_at: new Date(Date.parse('2024-06-01T00:00:00Z') + i * 60_000 + 30_000).toISOString(),
    conclusion,
    files: Array.from({ length: 8 }, (_, k) => `src/module-${i}/file-${k}.ts`),
  };
}

async function setup(): Promise<{
  dir: string;
  store: Store;
  raw: Database.Database;
  running: RunningServer;
  champion: string;
  file: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-store-faults-'));
  const file = join(dir, 'riskgate.db');
  const store = openStore(file);
  const { running, champion } = await serveTrained(store, dir);
  const raw = rawConnection(store);
  assert.ok(raw, 'the store exposes its connection to tests');
  return { dir, store, raw, running, champion, file };
}

async function riskBurst(url: string, champion: string, n = 40): Promise<number> {
  const t0 = performance.now();
  const rs = await Promise.all(
    Array.from({ length: n }, (_, i) => call(url, 'POST', '/v1/risk', { ...risk, actor: `dev${i % 7}` })),
  );
  for (const r of rs) {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.degraded, false, 'the champion answers, not the fallback');
    assert.equal(r.body.model.id, champion);
    assert.ok(r.body.probability >= 0 && r.body.probability <= 1);
  }
  return performance.now() - t0;
}

function assertIntegrity(file: string): void {
  const ro = new Database(file, { readonly: true });
  try {
    assert.equal(ro.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    ro.close();
  }
}

function assert503(r: { status: number; body: any; headers: Headers }, what: string): void {
  assert.equal(r.status, 503, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'store_unavailable', what);
  assert.equal(r.headers.get('retry-after'), '5', what);
}

test('disk full (SQLITE_FULL): risk is answered, writes are 503 and all-or-nothing, health says so, and it recovers', async () => {
  const { dir, store, raw, running, champion, file } = await setup();
  const url = running.url;
  try {
    await riskBurst(url, champion);
    // A known run that the faulty batch will try to change.
    assert.equal((await call(url, 'POST', '/v1/outcomes', outcome(0, 'success'))).status, 200);
    const before = store.countRuns();
    const h0 = await call(url, 'GET', '/health');
    assert.equal(h0.body.status, 'ok');
    assert.equal(h0.body.store.writable, true);

    const pages = raw.pragma('page_count', { simple: true }) as number;
    raw.pragma(`max_page_count = ${pages}`);

    // The batch updates a stored run first and then inserts new ones: the inserts run out of space.
    const batch = { runs: [outcome(0, 'failure'), ...Array.from({ length: 300 }, (_, i) => outcome(i + 1))] };
    const full = await call(url, 'POST', '/v1/outcomes', batch);
    assert503(full, 'outcomes batch on a full disk');
    assert.equal(store.countRuns(), before, 'no run of the failed batch was kept');
    assert.equal(
      store.getRun('acme/web', 'ci', 'fault-0', 1)?.conclusion,
      'success',
      'the update in the failed batch was rolled back too',
    );

    // Small writes may still fit in a page's free space (as on a real disk); keep writing until they do not.
    let circuitStatus = 0;
    let posted = 0;
    for (let i = 0; i < 400 && circuitStatus !== 503; i++, posted++) {
      const r = await call(url, 'POST', `/v1/circuits/dep-${i}-${'x'.repeat(100)}`, { event: 'failure' });
      assert.ok(r.status === 200 || r.status === 503, `circuit POST is 200 or 503, got ${r.status} ${r.text}`);
      circuitStatus = r.status;
      if (r.status === 503) assert503(r, 'circuit POST on a full disk');
    }
    assert.equal(circuitStatus, 503, `circuit writes fail once the space is used up (after ${posted})`);

    const elapsed = await riskBurst(url, champion);
    assert.ok(elapsed < 5000, `risk checks stay fast on a full disk (${elapsed.toFixed(0)} ms for 40)`);

    const h = await call(url, 'GET', '/health');
    assert.equal(h.status, 200, 'reads still work, so the service is up');
    assert.equal(h.body.status, 'degraded');
    assert.equal(h.body.store.ok, true);
    assert.equal(h.body.store.writable, false);
    assert.match(h.body.store.write_error, /SQLITE_FULL/);
    assert.ok(!Number.isNaN(Date.parse(h.body.store.write_failing_since)));
    const ready = await call(url, 'GET', '/ready');
    assert.equal(ready.status, 200, 'still ready: risk checks are answered');
    assert.equal(ready.body.store_writable, false);
    assert.match(ready.body.error, /SQLITE_FULL/);

    // Lift the fault: the same batch goes through whole, and health is back to ok.
    raw.pragma('max_page_count = 1073741823');
    const ok = await call(url, 'POST', '/v1/outcomes', batch);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, { inserted: 300, updated: 1, unchanged: 0 });
    assert.equal(store.countRuns(), before + 300);
    assert.equal(store.getRun('acme/web', 'ci', 'fault-0', 1)?.conclusion, 'failure');
    assert.equal((await call(url, 'POST', '/v1/circuits/after-the-fault', { event: 'success' })).status, 200);
    const h2 = await call(url, 'GET', '/health');
    assert.equal(h2.body.status, 'ok');
    assert.equal(h2.body.store.writable, true);
    assert.equal((await call(url, 'GET', '/ready')).body.store_writable, true);
    await riskBurst(url, champion, 10);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    await running.shutdown();
    store.close();
    assertIntegrity(file);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read-only store (SQLITE_READONLY): every write is a 503, risk is answered, health says so, and it recovers', async () => {
  const { dir, store, raw, running, champion, file } = await setup();
  const url = running.url;
  try {
    assert.equal((await call(url, 'POST', '/v1/circuits/npm', { event: 'failure' })).status, 200);
    const before = store.countRuns();
    raw.pragma('query_only = 1');

    assert503(await call(url, 'POST', '/v1/outcomes', outcome(1)), 'single outcome');
    assert503(await call(url, 'POST', '/v1/outcomes', { runs: [outcome(2), outcome(3)] }), 'outcome batch');
    assert503(await call(url, 'POST', '/v1/circuits/npm', { event: 'failure' }), 'circuit POST on an existing circuit');
    assert503(await call(url, 'POST', '/v1/circuits/brand-new', { event: 'attempt' }), 'circuit POST on a new circuit');
    // Reads are unaffected.
    const c = await call(url, 'GET', '/v1/circuits/npm');
    assert.equal(c.status, 200);
    assert.equal(c.body.consecutive_failures, 1, 'the refused failure was not counted');
    await riskBurst(url, champion);
    // A repo the history cache has not seen yet is read from the store.
    const other = await call(url, 'POST', '/v1/risk', { ...risk, repo: 'acme/api' });
    assert.equal(other.status, 200);
    assert.equal(other.body.degraded, false);

    const h = await call(url, 'GET', '/health');
    assert.equal(h.body.status, 'degraded');
    assert.equal(h.body.store.writable, false);
    assert.match(h.body.store.write_error, /SQLITE_READONLY/);
    const ready = await call(url, 'GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.store_writable, false);
    assert.equal(store.countRuns(), before);
    const metrics = await call(url, 'GET', '/metrics');
    assert.match(metrics.text, /riskgate_store_errors_total 4\b/);

    raw.pragma('query_only = 0');
    const ok = await call(url, 'POST', '/v1/outcomes', { runs: [outcome(2), outcome(3)] });
    assert.deepEqual(ok.body, { inserted: 2, updated: 0, unchanged: 0 });
    const circuit = await call(url, 'POST', '/v1/circuits/npm', { event: 'failure' });
    assert.equal(circuit.status, 200);
    assert.equal(circuit.body.consecutive_failures, 2);
    assert.equal((await call(url, 'GET', '/health')).body.status, 'ok');
    assert.equal(store.countRuns(), before + 2);
  } finally {
    await running.shutdown();
    store.close();
    assertIntegrity(file);
    rmSync(dir, { recursive: true, force: true });
  }
});
