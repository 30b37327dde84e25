import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.ts';
import { Registry } from '../../src/registry/registry.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { randomHistory } from '../support/runs.ts';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'rg-lifecycle-'));
  const db = join(dir, 'riskgate.db');
  const models = join(dir, 'models');
  const store = openStore(db);
  store.upsertRuns(randomHistory(5, 300));
  store.close();
  return {
    dir,
    db,
    models,
    flags: ['--db', db, '--models-dir', models],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test(
  'riskgate train: the first model becomes champion, a second one only if it beats the champion on the same holdout',
  { timeout: 60_000 },
  async () => {
    const w = workspace();
    try {
      const first = await cli(['train', '--models', 'baseline', ...w.flags]);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /registered (baseline-\S+) \(baseline\) as champion/);
      const registry = new Registry(w.models);
      const champion = registry.championId()!;
      assert.ok(champion);
      // The same data and model kind: no PR-AUC gain, so the README's rule keeps the champion.
      const second = await cli(['train', '--models', 'baseline', ...w.flags]);
      assert.equal(second.code, 0, second.err);
      const m = /registered (\S+) \(baseline\) as rejected: (\S+) stays champion/.exec(second.out);
      assert.ok(m, second.out);
      assert.equal(m[2], champion);
      assert.match(second.out, /PR-AUC .* not enough/);
      assert.equal(registry.championId(), champion);
      assert.equal(registry.manifest(m[1])!.status, 'rejected');
      // --promote overrides; --challenger registers without comparing; both at once is a usage error.
      const forced = await cli(['train', '--models', 'baseline', '--promote', ...w.flags]);
      assert.equal(forced.code, 0, forced.err);
      assert.notEqual(registry.championId(), champion);
      assert.equal(registry.manifest(champion)!.status, 'retired');
      assert.equal((await cli(['train', '--challenger', '--promote', ...w.flags])).code, 2);
    } finally {
      w.cleanup();
    }
  },
);

test(
  'riskgate models: trial then end-trial retires the challenger; changes print a sentence; an unknown id exits 3',
  { timeout: 60_000 },
  async () => {
    const w = workspace();
    try {
      assert.equal((await cli(['train', '--models', 'baseline', ...w.flags])).code, 0);
      const ch = await cli(['train', '--models', 'baseline', '--challenger', ...w.flags]);
      const id = /registered (\S+) \(baseline\) as challenger/.exec(ch.out)?.[1];
      assert.ok(id, ch.out);
      const trial = await cli(['models', 'trial', id, '--reason', 'try it', ...w.flags]);
      assert.equal(trial.code, 0, trial.err);
      assert.match(trial.out, new RegExp(`^${id} is on shadow trial; \`riskgate models end-trial\` stops it\\.`));
      const ended = await cli(['models', 'end-trial', '--reason', 'enough', ...w.flags]);
      assert.equal(ended.code, 0, ended.err);
      assert.match(ended.out, new RegExp(`trial of ${id} ended; it is retired\\.`));
      assert.equal(new Registry(w.models).manifest(id)!.status, 'retired');
      const list = JSON.parse((await cli(['models', 'list', '--json', ...w.flags])).out);
      assert.equal(list.models.find((m: { id: string }) => m.id === id).status, 'retired');

      const promoted = await cli(['models', 'promote', id, '--reason', 'second thoughts', ...w.flags]);
      assert.equal(promoted.code, 0, promoted.err);
      assert.match(
        promoted.out,
        new RegExp(`^${id} is now the champion \\(was \\S+; \`riskgate models rollback\` re-instates it\\)`),
      );
      assert.doesNotMatch(promoted.out, /^\{/m, 'not raw JSON');
      const rolled = await cli(['models', 'rollback', '--reason', 'no', ...w.flags]);
      assert.match(rolled.out, /^rolled back: \S+ is the champion again/);
      assert.deepEqual(
        JSON.parse((await cli(['models', 'promote', id, '--reason', 'again', '--json', ...w.flags])).out).champion,
        id,
        '--json keeps the API answer',
      );

      const unknown = await cli(['models', 'promote', 'gbdt-20990101000000-abcdef', '--reason', 'x', ...w.flags]);
      assert.equal(unknown.code, 3);
      assert.match(unknown.err, /no model "gbdt-20990101000000-abcdef"/);
      assert.match((await cli(['models', '--help'])).out, /3 no model with that ID/);
    } finally {
      w.cleanup();
    }
  },
);
