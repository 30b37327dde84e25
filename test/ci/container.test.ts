/**
 * Issue 15.8: the container runs compiled JavaScript, as a non-root uid, with a read-only root file system.
 * There is no container engine here, so the test builds the image's /app layout itself — `npm run build`'s
 * dist/, bin/, package.json and a node_modules holding only the production tree (package-lock.json's non-dev
 * packages, as `npm prune --omit=dev` leaves it: no tsx, no esbuild, no TypeScript sources) — and runs
 * `riskgate serve` the way the pod does: in a mount namespace where every mount is read-only except the
 * data and models volumes, as uid 65534 (root here) or as the namespace's mapped user (otherwise), with
 * TMPDIR unset and /tmp read-only. It must become ready, train its first model, answer a risk check and serve
 * the dashboard, then stop cleanly on SIGTERM. The Dockerfile and deploy/kubernetes.yaml are checked for the
 * same policy as text (no YAML parser or image build here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort } from '../support/net.ts';

const ROOT = resolve('.');
const NOBODY = 65534;

function nsAvailable(): { ok: true; root: boolean } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'needs Linux mount namespaces' };
  const root = process.getuid?.() === 0;
  const probe = spawnSync('unshare', [root ? '-m' : '-rm', 'sh', '-c', 'mount -o remount,bind,ro / && echo ok'], {
    encoding: 'utf8',
  });
  if (probe.error) return { ok: false, why: 'unshare is not installed (Debian package: util-linux)' };
  if (probe.stdout.trim() !== 'ok')
    return { ok: false, why: `no mount namespace here (unshare: ${probe.stderr.trim().slice(0, 160)})` };
  return { ok: true, root };
}

/** The image's /app: compiled dist/, bin/, package.json and the production dependency tree only. */
function imageLayout(dir: string): string {
  const build = join(dir, 'build');
  mkdirSync(build);
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'training', 'scripts'])
    cpSync(join(ROOT, f), join(build, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: build, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  cpSync(join(build, 'dist'), join(app, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [key, meta] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
    if (!m || meta.dev || !existsSync(join(ROOT, key))) continue;
    const target = join(app, 'node_modules', m[1]);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(ROOT, key), target, 'dir');
  }
  assert.ok(
    !existsSync(join(app, 'node_modules', 'tsx')) && !existsSync(join(app, 'node_modules', 'esbuild')),
    'dev dependencies are not in the image',
  );
  return app;
}

test(
  'compiled server, read-only root file system, non-root uid, no TMPDIR: ready, trains, answers, stops',
  { timeout: 300_000 },
  async (t) => {
    const ns = nsAvailable();
    if (!ns.ok) {
      if (process.env.CI === 'true') assert.fail(`cannot run the read-only container check: ${ns.why}`);
      return t.skip(ns.why);
    }
    const dir = mkdtempSync(join(tmpdir(), 'rg-ctr-'));
    chmodSync(dir, 0o755);
    try {
      const app = imageLayout(dir);
      rmSync(join(dir, 'build'), { recursive: true, force: true });
      // Histogram threads from the compiled code: the worker must be the compiled .js, as tsx is absent.
      const threads = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
      const { TreeGrower } = await import('./dist/src/ml/tree-grower.js');
      const { applyBins, fitBins } = await import('./dist/src/ml/histogram.js');
      const n = 2000, d = 4, X = Float32Array.from({ length: n * d }, (_, i) => (i * 7919) % 101 / 101);
      const mapper = fitBins(X, n, d, 255);
      const g = new TreeGrower(applyBins(mapper, X, n, d), n, d, mapper, { threads: 2, minParallelWork: 0 });
      console.log(g.threadCount); g.close();`,
        ],
        { cwd: app, encoding: 'utf8' },
      );
      assert.equal(threads.stdout.trim(), '2', `a compiled histogram worker started: ${threads.stderr.slice(0, 500)}`);
      const data = join(dir, 'vol', 'data');
      const models = join(dir, 'vol', 'models');
      mkdirSync(data, { recursive: true });
      mkdirSync(models, { recursive: true });
      if (ns.root) for (const d of [data, models]) chownSync(d, NOBODY, NOBODY);
      const port = await freePort();
      // The pod: every mount read-only but the two volumes (bind-mounted onto themselves first, so they stay
      // writable), then the service as a non-root uid with a minimal environment.
      const script = [
        'set -e',
        `mount --bind "${data}" "${data}"`,
        `mount --bind "${models}" "${models}"`,
        `for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"${data}"|"${models}") ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac; done`,
        'touch /tmp/.rg-writable 2>/dev/null && { echo "/tmp is still writable" >&2; exit 97; }',
        `cd "${app}"`,
        `exec ${ns.root ? `setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ` : ''}env -i PATH="${dirname(process.execPath)}:/usr/bin:/bin" HOME=/nonexistent NODE_ENV=production PORT=${port} RISKGATE_HOST=127.0.0.1 RISKGATE_DATA_DIR="${data}" RISKGATE_MODELS_DIR="${models}" RISKGATE_LOG_LEVEL=info "${process.execPath}" bin/riskgate.mjs serve`,
      ].join('\n');
      const child = spawn('unshare', [ns.root ? '-m' : '-rm', 'sh', '-c', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout.on('data', (b: Buffer) => (log += b));
      child.stderr.on('data', (b: Buffer) => (log += b));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      const base = `http://127.0.0.1:${port}`;
      try {
        // Ready means a model (the bootstrap trains one from the sample history into the models volume) serves.
        let ready = false;
        while (!ready) {
          const gone = await Promise.race([
            exited.then(() => true),
            new Promise<false>((r) => setTimeout(() => r(false), 250)),
          ]);
          if (gone) assert.fail(`the server exited before it was ready:\n${log.slice(-3000)}`);
          ready = await fetch(`${base}/ready`).then(
            (r) => r.ok,
            () => false,
          );
        }
        const risk = await fetch(`${base}/v1/risk`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ repo: 'acme/web', files: ['package-lock.json'], files_changed: 1 }),
        });
        assert.equal(risk.status, 200, log.slice(-2000));
        const body = (await risk.json()) as { degraded: boolean; model: { kind: string } | null };
        assert.equal(body.degraded, false, 'a trained model answered, not the fallback');
        const shell = await (await fetch(`${base}/`)).text();
        const asset = /\/ui\/assets\/app\.[0-9a-f]{12}\.js/.exec(shell)?.[0];
        assert.ok(asset, 'the dashboard shell links its prebuilt bundle');
        const js = await fetch(`${base}${asset}`);
        assert.equal(js.status, 200);
        assert.ok((await js.text()).length > 1000);
        assert.ok(readdirSync(data).some((f) => f.startsWith('riskgate.db')));
        assert.ok(readdirSync(models).length > 0, 'the first model is in the models volume');
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, `clean exit on SIGTERM:\n${log.slice(-2000)}`);
      assert.doesNotMatch(log, /EROFS|EACCES|read-only file system/i, 'no write outside the volumes was attempted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('Dockerfile and deploy/kubernetes.yaml: compiled code, numeric non-root user, read-only root file system', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const runtime = dockerfile
    .slice(dockerfile.lastIndexOf('\nFROM '))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  assert.match(runtime, /^COPY --from=build \/app\/dist \.\/dist$/m);
  assert.doesNotMatch(runtime, /^COPY (src|training|tsconfig)/m, 'no TypeScript in the image');
  assert.doesNotMatch(runtime, /tsx/, 'nothing starts tsx');
  const user = /^USER (\d+):(\d+)$/m.exec(runtime);
  assert.ok(user && user[1] !== '0', 'a numeric non-root USER, which runAsNonRoot can verify');
  assert.match(runtime, /^ENTRYPOINT \["node", "bin\/riskgate\.mjs"\]$/m);
  assert.match(dockerfile, /npm run build/);

  const kube = readFileSync('deploy/kubernetes.yaml', 'utf8');
  const deployment = kube.split(/^---$/m).find((d) => /kind: Deployment/.test(d)) ?? '';
  assert.match(deployment, /readOnlyRootFilesystem: true/);
  assert.match(deployment, /allowPrivilegeEscalation: false/);
  assert.match(deployment, /capabilities: \{ drop: \[ALL\] \}/);
  assert.match(deployment, /runAsNonRoot: true/);
  assert.match(deployment, new RegExp(`runAsUser: ${user![1]}\\b`), "the pod's uid is the image's");
  // The replicas keep models and SQLite scratch on emptyDir volumes under /var/lib/riskgate (their state is in
  // PostgreSQL); what must not be needed is a writable /tmp or any other path outside the app's data root.
  for (const m of deployment.matchAll(/mountPath: ([^\s,}]+)/g))
    assert.match(m[1], /^\/var\/lib\/riskgate(\/|$)/, `volume at ${m[1]}`);
  assert.doesNotMatch(deployment, /mountPath: \/tmp/, 'no writable /tmp volume is needed');
  const mounts = [...deployment.matchAll(/mountPath: (\S+) \}/g)].map((m) => m[1]).sort();
  assert.deepEqual(
    mounts,
    ['/var/lib/riskgate/data', '/var/lib/riskgate/models'],
    "the writable mounts are the image's two volumes",
  );
  assert.match(dockerfile, /RISKGATE_DATA_DIR=\/var\/lib\/riskgate\/data/);
  assert.match(dockerfile, /RISKGATE_MODELS_DIR=\/var\/lib\/riskgate\/models/);
});
