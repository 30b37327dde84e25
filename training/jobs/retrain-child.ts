/**
 * The retrain job's process: training is CPU-bound for seconds to minutes, so it runs here, off the serving
 * process's event loop, and reports back over the IPC channel. Being killed at any point is safe: the
 * registry writes the manifest after the artifact and the champion pointer last.
 *
 * argv[2]: JSON { db, modelsDir, until?, timezone?, kinds?, margins?, seed? }
 */
import { availableParallelism } from 'node:os';
import { openStoreAt } from '../../src/store/open.ts';
import { retrainOnce } from './retrain.ts';

const send = (m: unknown) =>
  new Promise<void>((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as {
    db: string;
    modelsDir: string;
    until?: string;
    timezone?: string;
    kinds?: string[];
    margins?: Record<string, number>;
    seed?: number;
    shadowTrial?: boolean;
  };
  if (!opts.db || !opts.modelsDir) throw new Error('retrain-child: db and modelsDir are required');
  const store = openStoreAt(opts.db);
  try {
    const result = await retrainOnce({
      store,
      modelsDir: opts.modelsDir,
      until: opts.until,
      timezone: opts.timezone,
      kinds: opts.kinds as never,
      margins: opts.margins,
      seed: opts.seed,
      shadowTrial: opts.shadowTrial,
      // The process that forked this one is serving requests: leave it a core.
      threads: Math.max(1, availableParallelism() - 1),
      log: (m) => void send({ type: 'log', message: m }),
    });
    await send({ type: 'result', result });
  } finally {
    store.close();
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
