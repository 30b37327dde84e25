/**
 * The scorer chain, composed in one place. From the inside out:
 *
 *   champion model (model-scorer.ts: registry, hot swap, history features, the fallback while no model loads)
 *     → live watchers (live.ts: shadow challenger, A/B share, drift, high-score alerts)
 *       → deferred slot (deferred.ts: the server listens before any of this has loaded)
 *
 * and beside it the rule-based fallback (fallback-scorer.ts), which also answers when a loaded model throws
 * (service.ts). Any failure while composing ends in the fallback: a broken model never fails a pipeline.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { Registry } from '../registry/registry.ts';
import type { Store } from '../store/types.ts';
import { instrumentScorer, type LiveOptions } from './live.ts';
import { createModelScorer } from './model-scorer.ts';
import type { Scorer } from './types.ts';

/** What the server holds: a scorer it may reload (a new champion) and must close on shutdown. */
export type ServingScorer = Scorer & { close?(): void; reload?(): Promise<boolean> };

export interface ChainOptions {
  store: Store;
  config: Pick<Config, 'modelsDir' | 'timezone' | 'attribution'>;
  log: Logger;
  /** Train a first champion when the registry has none (from the stored or the bundled sample history). */
  bootstrap: boolean;
  fallback: Scorer;
  /** Drift monitor, alerter and alert threshold for the live watchers. */
  live: Omit<LiveOptions, 'store' | 'modelsDir' | 'log'>;
  /** The registry's champion failed verification and was refused (alerting). */
  onRefused?: (id: string) => void;
}

/** Loads the champion (bootstrapping one if needed) and wraps it; resolves to the fallback on any failure. */
export async function composeScorer(o: ChainOptions): Promise<ServingScorer> {
  const { store, config, log } = o;
  if (o.bootstrap) {
    try {
      const bootstrap = await import('../../training/bootstrap.ts');
      const how = await bootstrap.ensureChampion({
        store,
        modelsDir: config.modelsDir,
        timezone: config.timezone,
        log,
      });
      log.info({ how }, 'champion model available');
    } catch (err) {
      log.warn({ err }, 'could not bootstrap a champion model; serving the rule-based fallback');
    }
  }
  try {
    const scorer = await createModelScorer({
      store,
      modelsDir: config.modelsDir,
      timezone: config.timezone,
      attribution: config.attribution,
      log,
      fallback: o.fallback,
    });
    // A champion pointer whose model did not load was refused (hash or manifest): say so loudly, once.
    const refused = scorer.info() ? undefined : new Registry(config.modelsDir).championId();
    if (refused) {
      log.warn(
        { model: refused },
        'champion refused; answering with the rule-based fallback (degraded) until it is restored, rolled back or another is promoted by hand',
      );
      o.onRefused?.(refused);
    } else if (!scorer.info())
      log.warn('no champion model in the registry; answering with the rule-based fallback (degraded)');
    const live = instrumentScorer(scorer, { ...o.live, store, modelsDir: config.modelsDir, log });
    void live.refresh().catch((err) => log.warn({ err }, 'could not read the trial and A/B settings'));
    return live;
  } catch (err) {
    log.warn({ err }, 'model scorer unavailable; answering with the rule-based fallback (degraded)');
    return o.fallback;
  }
}
