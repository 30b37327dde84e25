/**
 * `riskgate check --local`: scores with the local registry and store, no server. Apart from check.ts so the CI
 * bundle (action/dist, built by scripts/build-action.mjs) leaves out SQLite, TensorFlow and the models: it
 * replaces this module with a stub that says to use the package for --local.
 */
import { join } from 'node:path';
import type { RiskRequestInput, RiskResponse } from '../serving/schemas.ts';

export class LocalUsageError extends Error {
  override name = 'LocalUsageError';
}

export async function scoreLocally(request: RiskRequestInput, env: NodeJS.ProcessEnv): Promise<RiskResponse> {
  const { loadConfig } = await import('../config.ts');
  const { openStore } = await import('../store/sqlite.ts');
  const { RiskRequestSchema } = await import('../serving/schemas.ts');
  const { createFallbackScorer } = await import('../serving/fallback-scorer.ts');
  const { assessRisk } = await import('../serving/service.ts');
  const { describeZodError } = await import('../records/schema.ts');
  const config = loadConfig(env);
  const parsed = RiskRequestSchema.safeParse(request);
  if (!parsed.success) throw new LocalUsageError(`invalid request: ${describeZodError(parsed.error)}`);
  const store = openStore(join(config.dataDir, 'riskgate.db'));
  const fallback = createFallbackScorer({ store, timezone: config.timezone });
  let scorer: typeof fallback & { close?(): void } = fallback;
  try {
    try {
      const mod = await import('../serving/model-scorer.ts');
      scorer = await mod.createModelScorer({
        store,
        modelsDir: config.modelsDir,
        timezone: config.timezone,
        attribution: config.attribution,
        pollMs: 0,
        fallback,
      });
    } catch {
      /* no model scorer available: the fallback answers, flagged degraded */
    }
    return await assessRisk(parsed.data, { scorer, fallback, config }, `local-${process.pid}`);
  } finally {
    scorer.close?.();
    store.close();
  }
}
