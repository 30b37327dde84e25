/**
 * Model operations live in src/registry/operations.ts: the HTTP router and the `riskgate models` CLI both
 * call them, they refuse with domain errors (not HTTP ones), and neither they nor the CLI reach the HTTP
 * layer (src/api/, the router) through their imports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../../src/api/errors.ts';
import { Refusal } from '../../src/errors.ts';
import { endTrial, promoteModel, rollbackModel, showModel } from '../../src/registry/operations.ts';
import { openStore } from '../../src/store/sqlite.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every repository file reachable from `entry` through relative static and dynamic imports. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [resolve(ROOT, entry)];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+\.(?:ts|mjs))'/g)) {
      const next = resolve(dirname(file), m[1]);
      if (existsSync(next)) todo.push(next);
    }
  }
  return new Set([...seen].map((f) => relative(ROOT, f)));
}

test('the CLI and the operations reach neither src/api/ nor the models router through their imports', () => {
  for (const entry of ['src/commands/models.ts', 'src/registry/operations.ts']) {
    const files = reachable(entry);
    assert.ok(files.has('src/registry/registry.ts'), `${entry}: the walk follows imports`);
    const http = [...files].filter((f) => f.startsWith('src/api/') || f === 'src/registry/router.ts');
    assert.deepEqual(http, [], `${entry} reaches the HTTP layer`);
  }
  assert.ok(reachable('src/registry/router.ts').has('src/registry/operations.ts'));
});

test('operations refuse with Refusal kinds, never an HttpError', () => {
  const store = openStore(':memory:');
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-ops-'));
  const refusal = (fn: () => unknown): Refusal => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof Refusal && !(err instanceof HttpError), String(err));
      return err;
    }
    assert.fail('expected a refusal');
  };
  assert.equal(refusal(() => showModel(store, modelsDir, 'gbdt-1')).kind, 'not_found');
  assert.equal(refusal(() => promoteModel(store, modelsDir, 'gbdt-1', 'cli:t', 'why')).kind, 'not_found');
  assert.equal(refusal(() => rollbackModel(store, modelsDir, 'cli:t', 'why')).kind, 'conflict');
  assert.equal(refusal(() => endTrial(store, modelsDir, 'cli:t', 'why')).kind, 'conflict');
  assert.deepEqual(store.listModels(), [], 'a refusal stores nothing');
  store.close();
});
