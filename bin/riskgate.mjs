#!/usr/bin/env node
// The `riskgate` command, whichever way it is reached: `node bin/riskgate.mjs`, `npx riskgate`, or a
// `node_modules/.bin/riskgate` link (a symlink on Unix, a shim on Windows). It calls main() itself instead of
// letting src/cli.ts guess from process.argv[1] whether it is the entry point: behind a link argv[1] names the
// link, and the old guess (the path ends in riskgate.mjs) made every linked `riskgate` print nothing and exit 0.
//
// A checkout runs the TypeScript sources through tsx (a devDependency), so an edit needs no build; the
// published package and the container image have no sources, only the JavaScript `npm run build` compiled
// into dist/ (see prepack). A checkout installed without devDependencies uses dist/ when it was built.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli.ts', import.meta.url);
const compiled = new URL('../dist/src/cli.js', import.meta.url);
let cli;
if (existsSync(sources)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (!existsSync(compiled)) {
      console.error(
        `riskgate: cannot run the sources without tsx (${err.code ?? err.message}); run npm ci, or npm run build`,
      );
      process.exit(1);
    }
  }
  if (register) {
    register();
    cli = await import(sources.href);
  }
}
cli ??= await import(compiled.href);
await cli.runMain(process.argv.slice(2));
