#!/usr/bin/env node
// `npm run build` (and prepack): compiles src/ and training/ to JavaScript in dist/, so the package and the
// container image run without tsx (a devDependency) and without compiling TypeScript at each start.
// The dashboard's front end is bundled here too: at run time dist/ has neither its sources nor esbuild.
// It reports on stderr: `npm pack --json` prints the prepack script's stdout before its JSON.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

const { register } = await import('tsx/esm/api');
register();
const { buildBundle } = await import('../src/dashboard/bundle.ts');
const bundle = await buildBundle();
writeFileSync('dist/src/dashboard/bundle.json', JSON.stringify(bundle));
console.error(`dist/: compiled; dashboard bundle ${bundle.version} (${Math.round(bundle.js.length / 1024)} KiB)`);
