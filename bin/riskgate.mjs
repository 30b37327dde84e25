#!/usr/bin/env node
// The `riskgate` command, whichever way it is reached: `node bin/riskgate.mjs`, `npx riskgate`, or a
// `node_modules/.bin/riskgate` link (a symlink on Unix, a shim on Windows). It calls main() itself instead of
// letting src/cli.ts guess from process.argv[1] whether it is the entry point: behind a link argv[1] names the
// link, and the old guess (the path ends in riskgate.mjs) made every linked `riskgate` print nothing and exit 0.
//
// A checkout runs the TypeScript sources through tsx (a devDependency), so an edit needs no build; the
// published package has no sources, only the JavaScript `npm run build` compiled into dist/ (see prepack).
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli.ts', import.meta.url);
let cli;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(sources.href);
} else {
  cli = await import('../dist/src/cli.js');
}
await cli.runMain(process.argv.slice(2));
