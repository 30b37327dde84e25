/**
 * Issue 16.11: a corrupt champion file, then a default restart. The model was refused by hash (good), but
 * the server then trained and promoted a new champion from whatever the store held. It must answer with the
 * rules fallback (`degraded: true`), alert, and leave the registry as it found it. And a corrupt manifest
 * logged a warning on every 2 s poll: once, then only when something changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backgroundSettings } from '../../src/config/background.ts';
import { startServer } from '../../src/commands/serve.ts';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelScorer, type ModelScorerOptions } from '../../src/serving/model-scorer.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { retrainOnce } from '../../training/jobs/retrain.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { call, silent, testConfig } from '../api/helpers.ts';
import { receiver } from '../support/receiver.ts';
import { randomHistory } from '../support/runs.ts';

async function registryWithChampion() {
  const dir = mkdtempSync(join(tmpdir(), 'rg-refused-'));
  const modelsDir = join(dir, 'models');
  const store = openStore(join(dir, 'riskgate.db'));
  store.upsertRuns(randomHistory(7, 300));
  const id = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: true })).manifest.id;
  return {
    dir,
    modelsDir,
    store,
    id,
    versions: () =>
      readdirSync(modelsDir)
        .filter((n) => !n.includes('.') && n !== 'champion')
        .sort(),
  };
}

test(
  'a champion refused by hash at start: rules fallback (degraded), an alert, no new champion trained or promoted',
  { timeout: 60_000 },
  async () => {
    const { dir, modelsDir, store, id, versions } = await registryWithChampion();
    const before = versions();
    appendFileSync(join(modelsDir, id, 'model.json'), ' '); // one byte: the sha256 no longer matches
    const rx = await receiver();
    const warnings: string[] = [];
    const log = Object.assign(Object.create(silent), {
      warn: (o: unknown, m?: string) => void warnings.push(`${m ?? ''} ${JSON.stringify(o)}`),
      child: () => log,
    });
    const running = await startServer(
      testConfig({ PORT: '0', RISKGATE_DATA_DIR: dir, RISKGATE_MODELS_DIR: modelsDir }),
      {
        logger: log,
        store,
        background: backgroundSettings({ RISKGATE_ALERT_WEBHOOKS: `json:${rx.url}` }),
      },
    );
    try {
      await running.loaded;
      const r = await call(running.url, 'POST', '/v1/risk', { repo: 'acme/web', head_branch: 'main' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.degraded, true, 'answered by the rules fallback');
      const health = await call(running.url, 'GET', '/health');
      assert.equal(health.body.degraded, true);
      const reg = new Registry(modelsDir);
      assert.equal(reg.championId(), id, 'the champion pointer is untouched');
      assert.deepEqual(versions(), before, 'no model was trained or registered');
      assert.ok(
        warnings.some((w) => /refused/.test(w) && w.includes(id)),
        warnings.join('\n'),
      );
    } finally {
      await running.shutdown(); // flushes the alerter: queued deliveries have finished
      store.close();
      await rx.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(rx.hits.length, 1, 'one alert');
    assert.equal(rx.hits[0].body.kind, 'model_refused');
    assert.match(String(rx.hits[0].body.message), new RegExp(id));
  },
);

test('the scheduled retrain does not replace a champion refused by hash on its own', { timeout: 60_000 }, async () => {
  const { dir, modelsDir, store, id } = await registryWithChampion();
  appendFileSync(join(modelsDir, id, 'model.json'), ' ');
  try {
    const r = await retrainOnce({ store, modelsDir, kinds: ['baseline'] });
    assert.equal(r.promoted, false);
    assert.equal(new Registry(modelsDir).championId(), id);
    assert.ok(
      r.decision.reasons.some((x) => /refused/.test(x)),
      r.decision.reasons.join('; '),
    );
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt champion manifest is logged once, then again only when it changes', { timeout: 60_000 }, async () => {
  const { dir, modelsDir, store, id } = await registryWithChampion();
  writeFileSync(join(modelsDir, id, 'manifest.json'), '{ not json');
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (_o: object, m?: string) => void warnings.push(m ?? '') };
  const scorer = await createModelScorer({
    store,
    modelsDir,
    pollMs: 0,
    log,
    fallback: createFallbackScorer({ store }) as ModelScorerOptions['fallback'],
  });
  try {
    for (let i = 0; i < 5; i++) await scorer.reload(); // five polls
    assert.equal(warnings.length, 1, warnings.join('\n'));
    writeFileSync(join(modelsDir, id, 'manifest.json'), '{ still not json }'); // a different corruption
    for (let i = 0; i < 3; i++) await scorer.reload();
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.equal(scorer.info(), null, 'no model serves; the fallback answers');
  } finally {
    scorer.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
