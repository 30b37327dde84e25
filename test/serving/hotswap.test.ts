import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { openStore } from '../../src/store/sqlite.ts';
import { Registry } from '../../src/registry/registry.ts';
import { createModelScorer } from '../../src/serving/model-scorer.ts';
import { createFallbackScorer } from '../../src/serving/fallback-scorer.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory } from '../support/runs.ts';
import { serveApp } from '../api/helpers.ts';

function post(url: string, body: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/risk`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('hot swap under HTTP load: the champion changes mid-stream and no request fails', async () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'rg-api-swap-'));
  const store = openStore(':memory:');
  store.upsertRuns(randomHistory(5, 300));
  const first = (await trainFromStore({ store, modelsDir, kinds: ['baseline'] })).manifest;
  const second = (await trainFromStore({ store, modelsDir, kinds: ['baseline'], promote: false })).manifest;
  const scorer = await createModelScorer({
    store,
    modelsDir,
    pollMs: 0,
    fallback: createFallbackScorer({ store }) as never,
  });
  const s = await serveApp({ store, scorer, env: { RISKGATE_RATE_LIMIT: '10000000', RISKGATE_RATE_BURST: '100000' } });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const body = JSON.stringify({
      repo: 'acme/web',
      head_branch: 'main',
      event: 'push',
      actor: 'dev1',
      files: ['src/a.ts'],
      additions: 10,
      deletions: 2,
    });
    const statuses = new Map<number, number>();
    const models: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const r = await post(s.url, body, agent);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) models.push(JSON.parse(r.body).model.id);
      }
    });
    while (models.length < 200) await new Promise((r) => setTimeout(r, 5));
    new Registry(modelsDir).setChampion(second.id);
    assert.equal(await scorer.reload(), true);
    const afterSwap = models.length;
    while (models.length < afterSwap + 200) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(workers);
    assert.deepEqual([...statuses.keys()], [200], `statuses ${JSON.stringify([...statuses])}`);
    assert.ok(models.includes(first.id) && models.includes(second.id), 'both champions answered');
    assert.ok(
      models.slice(-100).every((m) => m === second.id),
      'the new champion answers after the swap',
    );
  } finally {
    agent.destroy();
    scorer.close();
    await s.close();
    rmSync(modelsDir, { recursive: true, force: true });
  }
});
