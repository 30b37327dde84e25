/**
 * Bundles the dashboard's front end in memory with esbuild on first use, so there is no build step and
 * nothing is fetched from outside the server at run time. One bundle per process (sources do not change
 * while it runs).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Bundle {
  js: string;
  css: string;
  /** Short content hash: asset URLs change with the content, so browsers may cache them forever. */
  version: string;
  build_ms: number;
}

const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client');

let pending: Promise<Bundle> | undefined;

export async function buildBundle(): Promise<Bundle> {
  const t0 = performance.now();
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(CLIENT_DIR, 'main.ts')],
    bundle: true,
    write: false,
    outdir: '/bundle',
    format: 'iife',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  let js = '';
  let css = '';
  for (const f of result.outputFiles) {
    if (f.path.endsWith('.js')) js = f.text;
    else if (f.path.endsWith('.css')) css = f.text;
  }
  if (!js) throw new Error('dashboard bundle: esbuild produced no JavaScript');
  const version = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  return { js, css, version, build_ms: Math.round(performance.now() - t0) };
}

/**
 * Compiled (dist/: the package and the image) there are no client sources and no esbuild (a devDependency):
 * `npm run build` bundles them once into this file next to the compiled module.
 */
const PREBUILT = new URL('./bundle.json', import.meta.url);

/** The cached bundle; a failed build is retried on the next request rather than cached. */
export function getBundle(): Promise<Bundle> {
  if (!pending) {
    pending = import.meta.url.endsWith('.ts')
      ? buildBundle()
      : readFile(PREBUILT, 'utf8').then((j) => JSON.parse(j) as Bundle);
    pending.catch(() => (pending = undefined));
  }
  return pending;
}
