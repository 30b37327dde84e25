import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/commands/serve.ts';
import type { Store } from '../../src/store/types.ts';
import { trainFromStore } from '../../training/pipeline.ts';
import { silent, testConfig } from '../api/helpers.ts';
import { randomHistory } from './runs.ts';

/**
 * The real server (`startServer`, the path `riskgate serve` takes) over `store`, with a GBDT champion
 * trained on a seeded random history of three repos and rate limits out of the way, loaded and answering.
 * For the fault suites, which then break the store under it.
 */
export async function serveTrained(store: Store, dir: string): Promise<{ running: RunningServer; champion: string }> {
  store.upsertRuns(randomHistory(3, 300));
  const modelsDir = join(dir, 'models');
  const trained = await trainFromStore({ store, modelsDir, kinds: ['gbdt'] });
  const running = await startServer(
    testConfig({
      PORT: '0',
      RISKGATE_DATA_DIR: dir,
      RISKGATE_MODELS_DIR: modelsDir,
      RISKGATE_RATE_LIMIT: '1000000',
      RISKGATE_RATE_BURST: '100000',
    }),
    { logger: silent, store, bootstrap: false },
  );
  await running.loaded;
  return { running, champion: trained.manifest.id };
}
