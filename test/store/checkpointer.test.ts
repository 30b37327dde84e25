import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, rawConnection } from '../../src/store/sqlite.ts';

const until = async (cond: () => boolean, ms = 5000): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
};

test('background checkpoints: commits never checkpoint, the worker copies the WAL into the database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-ckpt-'));
  const file = join(dir, 'x.db');
  const store = openStore(file, { backgroundCheckpoint: true });
  try {
    const db = rawConnection(store)!;
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the request thread does not checkpoint');
    const before = statSync(file).size;
    const blob = 'x'.repeat(64 * 1024);
    // ~6 MB: past the 1,000-page automatic threshold several times over
    for (let i = 0; i < 100; i++) store.appendEvent('bulk', String(i), { blob });
    // Only the worker can have moved these pages into the main file.
    assert.ok(
      await until(() => statSync(file).size > before + 5_000_000),
      `database file grew from ${before} to ${statSync(file).size}`,
    );
    assert.equal(store.listEvents('bulk', { limit: 1000 }).length, 100);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the option a store keeps SQLite’s automatic checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-ckpt-'));
  const store = openStore(join(dir, 'x.db'));
  try {
    assert.equal(rawConnection(store)!.pragma('wal_autocheckpoint', { simple: true }), 1000);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that opened a store with the checkpointer still exits on its own', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'rg-ckpt-'));
  try {
    const code = `const { openStore } = await import(${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)}); openStore(${JSON.stringify(join(dir, 'x.db'))}, { backgroundCheckpoint: true }); console.log('open');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.signal, null, 'the checkpointer kept the process alive');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /open/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() returns with the checkpointer gone: the WAL is folded in and the folder can be removed at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-ckpt-'));
  const file = join(dir, 'x.db');
  const store = openStore(file, { backgroundCheckpoint: true });
  for (let i = 0; i < 20; i++) store.appendEvent('bulk', String(i), { blob: 'y'.repeat(10_000) });
  await new Promise((r) => setTimeout(r, 600)); // the worker has its connection open by now
  store.close();
  // The last connection to close removes the WAL; a checkpointer still attached would keep it.
  assert.equal(existsSync(`${file}-wal`), false, 'WAL left behind');
  rmSync(dir, { recursive: true });
});
