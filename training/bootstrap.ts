import { Registry } from '../src/registry/registry.ts';
import type { Store } from '../src/store/types.ts';
import { trainFromStore } from './pipeline.ts';

export interface BootstrapOptions {
  store: Store;
  modelsDir: string;
  timezone?: string;
  log?: { info(o: object, m?: string): void; warn?(o: object, m?: string): void };
  /** Clock for the sample history's placement (tests). */
  now?: () => number;
}

/**
 * The embedded default: a fresh clone has no history and no model. Load the simulator's seeded sample
 * history (only into an empty store — real history is never mixed with sample data) and train a first
 * champion, so the service answers with a real model within a minute of `npm start`.
 */
export type EnsureChampionResult = 'existing' | 'refused' | 'trained' | 'trained-on-sample';

/**
 * A champion that exists but does not verify (its artifact no longer matches the manifest's sha256, or the
 * manifest is unreadable) is `refused`: nothing is trained or promoted in its place. Someone changed a file
 * they should not have, or the disk did; training a replacement from whatever the store holds would put an
 * unreviewed model in charge (issue 16.11). The server answers from the rule-based fallback, degraded, and
 * alerts; an operator restores the file, rolls back or promotes a version by hand.
 */
export async function ensureChampion(o: BootstrapOptions): Promise<EnsureChampionResult> {
  const registry = new Registry(o.modelsDir);
  const id = registry.championId();
  if (id) {
    try {
      registry.readArtifact(id);
      return 'existing';
    } catch (err) {
      o.log?.warn?.({ model: id, err: (err as Error).message }, 'champion refused; not training a replacement');
      return 'refused';
    }
  }
  let sample = false;
  if (o.store.countRuns() === 0) {
    const { sampleHistory } = await import('../src/simulate/history.ts');
    // Ends in the week before now: features such as hours_since_prev_run then look like a live repo's.
    const runs = sampleHistory(o.now?.() ?? Date.now());
    o.store.upsertRuns(runs);
    o.store.setState('bootstrap:sample-history', JSON.stringify({ runs: runs.length, at: new Date().toISOString() }));
    o.log?.info(
      { runs: runs.length },
      'loaded the bundled sample history (simulated; replace it by importing or ingesting real runs)',
    );
    sample = true;
  }
  const t0 = Date.now();
  const { manifest } = await trainFromStore({
    store: o.store,
    modelsDir: o.modelsDir,
    timezone: o.timezone,
    kinds: ['gbdt', 'baseline'],
    promote: true,
    // No shape search (src/ml/tune.ts): the first answer should come quickly.
    tune: false,
    log: (m) => o.log?.info({}, m),
  });
  o.log?.info(
    { model: manifest.id, kind: manifest.kind, ms: Date.now() - t0, pr_auc: manifest.metrics.pr_auc },
    'first model trained',
  );
  return sample ? 'trained-on-sample' : 'trained';
}
