/**
 * `npm run bench`: every benchmark in one run, each printing its figures and ratios against the peer it is
 * measured with. Pass names to run a subset: `npm run bench -- ml api`.
 */
const SUITES: Record<string, string> = {
  pipeline: './pipeline.ts',
  ml: './ml.ts',
  'ml-history': './ml-history.ts',
  'ml-quality': './ml-quality.ts',
  'ml-tune': './ml-tune.ts',
  api: './api.ts',
  canary: './canary.ts',
  'canary-limits': './canary-limits.ts',
  ingest: './ingest.ts',
  retrain: './retrain.ts',
  action: './action.ts',
  zone: './zone.ts',
};

const only = process.argv.slice(2);
const results: Record<string, unknown> = {};
for (const [name, path] of Object.entries(SUITES)) {
  if (only.length && !only.includes(name)) continue;
  let mod: { run?: () => Promise<unknown> };
  try {
    mod = await import(path);
  } catch (err) {
    results[name] = { skipped: `cannot load ${path}: ${(err as Error).message}` };
    console.log(JSON.stringify({ [name]: results[name] }, null, 2));
    continue;
  }
  if (typeof mod.run !== 'function') continue;
  console.error(`== bench ${name}`);
  const t0 = performance.now();
  try {
    results[name] = await mod.run();
  } catch (err) {
    results[name] = { error: (err as Error).message };
  }
  console.error(`   ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(JSON.stringify({ [name]: results[name] }, null, 2));
}
