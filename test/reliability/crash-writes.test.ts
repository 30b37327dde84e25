import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from '../../src/registry/registry.ts';
import { createModelScorer } from '../../src/serving/model-scorer.ts';
import { openStore } from '../../src/store/sqlite.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { randomHistory, rng } from '../support/runs.ts';

/**
 * SIGKILL at random moments while a real process writes, for the write paths the import crash test does
 * not cover: outcome batches posted to `riskgate serve`, and the model registry (new versions, champion
 * moves, rollbacks). After every kill the data opens cleanly, verifies, and holds whole transactions only;
 * every write that was acknowledged before the kill is there. (Ingest: test/github/resume.test.ts kills a
 * real `riskgate ingest`.)
 */

const K = 150; // runs per outcome batch

function batch(b: number, version: number) {
  return {
    runs: Array.from({ length: K }, (_, i) => ({
      repo: 'acme/web',
      workflow: 'ci',
      run_id: `b${b}-${i}`,
      created_at: new Date(Date.parse('2024-02-01T00:00:00Z') + (b * K + i) * 60_000).toISOString(),
      completed_at: new Date(Date.parse('2024-02-01T00:00:00Z') + (b * K + i) * 60_000 + 30_000).toISOString(),
      conclusion: version === 0 ? 'success' : 'failure',
      files: [`v${version}/src/a.ts`, `src/batch-${b}/file-${i}.ts`],
    })),
  };
}

function post(port: number, body: unknown): Promise<number | string> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/outcomes',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            JSON.parse(Buffer.concat(chunks).toString());
            resolve(res.statusCode ?? 0);
          } catch {
            resolve('incomplete');
          }
        });
        res.on('error', (e) => resolve(e.message));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end(data);
  });
}

async function startServe(dir: string): Promise<{ child: ChildProcess; port: number; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-bootstrap'], {
    env: {
      ...process.env,
      PORT: '0',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: join(dir, 'models'),
      RISKGATE_LOG_LEVEL: 'info',
      RISKGATE_RATE_LIMIT: '1000000',
      RISKGATE_RATE_BURST: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m =
        /"msg":"listening"[^\n]*"url":"http:\/\/127\.0\.0\.1:(\d+)"|"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"listening"/.exec(
          out,
        );
      if (m && /"msg":"ready"/.test(out)) resolve(Number(m[1] ?? m[2]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`serve exited early:\n${out}`)));
  });
  return { child, port, exited };
}

test(
  'riskgate serve killed at random points while outcome batches are posted: clean store, whole batches, acknowledged ones kept',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-crash-outcomes-'));
    const db = join(dir, 'riskgate.db');
    const r = rng(7);
    /** Highest version acknowledged (200) per batch. */
    const acked = new Map<number, number>();
    let nextBatch = 0;
    let cut = 0; // posts in flight when the server died
    try {
      for (let round = 0; round < 3; round++) {
        const srv = await startServe(dir);
        let killed = false;
        // Four clients: new batches, and re-posts of earlier batches with a changed outcome (updates).
        const clients = Array.from({ length: 4 }, async (_, c) => {
          while (!killed) {
            const update = c % 2 === 1 && nextBatch > 0;
            const b = update ? Math.floor(r() * nextBatch) : nextBatch++;
            const v = update ? 1 : 0;
            const status = await post(srv.port, batch(b, v));
            if (status === 200) acked.set(b, Math.max(acked.get(b) ?? -1, v));
            else if (!killed) assert.fail(`batch ${b} v${v} failed before the kill: ${status}`);
            else cut++;
          }
        });
        await new Promise((res) => setTimeout(res, 250 + r() * 600));
        srv.child.kill('SIGKILL');
        killed = true;
        await srv.exited;
        await Promise.all(clients);

        const raw = new Database(db, { readonly: true });
        try {
          // A read-only connection sees the WAL the killed process left; integrity_check covers it.
          assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          raw.close();
        }
        const store = openStore(db);
        try {
          const rows = [...store.iterateRuns({ repo: 'acme/web' })];
          const byBatch = new Map<number, { n: number; versions: Set<number> }>();
          for (const row of rows) {
            const b = Number(/^b(\d+)-/.exec(row.run_id)![1]);
            const e = byBatch.get(b) ?? { n: 0, versions: new Set<number>() };
            e.n++;
            e.versions.add(Number(/^v(\d)\//.exec(row.files![0])![1]));
            byBatch.set(b, e);
          }
          for (const [b, e] of byBatch) {
            assert.equal(e.n, K, `batch ${b}: all ${K} runs or none (found ${e.n})`);
            assert.equal(e.versions.size, 1, `batch ${b}: one version of the batch, not a mix`);
            const conclusions = new Set(rows.filter((x) => x.run_id.startsWith(`b${b}-`)).map((x) => x.conclusion));
            assert.equal(conclusions.size, 1, `batch ${b}: the update was all or nothing`);
          }
          for (const [b, v] of acked) {
            assert.ok(byBatch.has(b), `acknowledged batch ${b} survived the kill`);
            assert.ok([...byBatch.get(b)!.versions][0] >= v, `acknowledged update of batch ${b} survived the kill`);
          }
        } finally {
          store.close();
        }
      }
      assert.ok(acked.size >= 3, `batches were written (${acked.size})`);
      process.stdout.write(`# outcomes: ${acked.size} batches acknowledged, ${cut} posts cut off by the kills\n`);
      assert.ok(cut >= 3, `the kills landed while batches were in flight (${cut} cut off)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'the model registry killed at random points while versions are registered and the champion moves: the champion verifies and is the old or the new one',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-crash-registry-'));
    const modelsDir = join(dir, 'models');
    const r = rng(11);
    try {
      // A real (small) trained artifact as the template every version is registered from.
      const store = openStore(':memory:');
      store.upsertRuns(randomHistory(5, 150));
      const trained = await trainFromStore({ store, modelsDir: join(dir, 'seed'), kinds: ['baseline'] });
      const template = join(dir, 'template.json');
      writeFileSync(
        template,
        JSON.stringify({
          ...trained.manifest,
          artifact: JSON.parse(readFileSync(join(dir, 'seed', trained.manifest.id, 'model.json'), 'utf8')),
        }),
      );

      let confirmed: string | undefined; // the champion the child last said it finished setting
      let midSwitch = 0;
      const cutSwitches = new Set<string>();
      const ROUNDS = 8;
      for (let round = 0; round < ROUNDS; round++) {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/reliability/children/registry-writer.ts', modelsDir, template],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stderr!.on('data', (c) => (err += c));
        // 'close', not 'exit': every line the child wrote before it died has been read by then.
        const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
          child.once('close', (code, signal) => res({ code, signal })),
        );
        // Kill at a random moment once it is writing (the first registration has been announced).
        await new Promise<void>((res) => {
          child.stdout!.on('data', (c) => {
            const first = out === '';
            out += c;
            if (first) setTimeout(res, 30 + r() * 400);
          });
          void exited.then(() => res());
        });
        child.kill('SIGKILL');
        const exit = await exited;
        assert.equal(exit.signal, 'SIGKILL', `the writer was killed mid-run, not stopped: ${err}`);

        const lines = out.split('\n').filter(Boolean);
        // The last line may itself be cut short; only whole announcements count.
        const whole = out.endsWith('\n') ? lines : lines.slice(0, -1);
        const champions = whole.filter((l) => l.startsWith('champion ')).map((l) => l.slice(9));
        if (champions.length) confirmed = champions[champions.length - 1];
        const lastSetting = [...whole].reverse().find((l) => l.startsWith('setting '));
        const inFlight =
          lastSetting && whole.lastIndexOf(lastSetting) === whole.length - 1 ? lastSetting.slice(8) : undefined;
        if (inFlight) {
          midSwitch++;
          cutSwitches.add(inFlight);
        }

        const registry = new Registry(modelsDir);
        const champion = registry.championId();
        const allowed = [confirmed, inFlight].filter(Boolean);
        if (allowed.length === 0) assert.equal(champion, undefined);
        else
          assert.ok(
            allowed.includes(champion),
            `champion ${champion} is the old (${confirmed}) or the new (${inFlight}) one`,
          );
        if (champion) {
          const { manifest } = registry.readArtifact(champion); // throws IntegrityError if half-written
          assert.equal(manifest.id, champion);
          const scorer = await createModelScorer({ store, modelsDir, pollMs: 0 });
          assert.equal(scorer.info()?.id, champion, 'the champion loads and verifies');
          scorer.close();
        }
        // No half-written version is listed: a version is listed only once its manifest exists, and then its artifact verifies.
        const versions = registry.list();
        for (const m of versions) registry.readArtifact(m.id);
        const claiming = versions.filter((m) => m.status === 'champion').map((m) => m.id);
        assert.ok(claiming.length <= 1, `at most one version says it is the champion (${claiming.join(', ')})`);
        // The pointer is what counts; a switch cut before its pointer write leaves its version saying
        // "champion" until the next switch retires it (never a second one beside it).
        for (const id of claiming)
          assert.ok(
            id === champion || cutSwitches.has(id),
            `${id} says champion: it is the pointer or a switch that was cut (pointer ${champion}, cut ${[...cutSwitches].join(' ')}, tail ${whole.slice(-4).join(' / ')})`,
          );
        for (const id of registry.history())
          assert.ok(existsSync(join(modelsDir, id, 'manifest.json')), `history entry ${id} is a registered version`);
      }
      assert.ok(confirmed, 'the writer got as far as moving the champion');
      process.stdout.write(`# registry: ${midSwitch} of ${ROUNDS} kills landed between "setting" and "champion"\n`);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
