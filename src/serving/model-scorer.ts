import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../features/calendar.ts';
import { FEATURE_INDEX, FEATURES } from '../features/definition.ts';
import { LiveHistory } from '../features/live.ts';
import { loadModel, type Attribution, type RiskModel } from '../ml/model.ts';
import { Registry, type Manifest } from '../registry/registry.ts';
import { StoreUnavailableError, type Store } from '../store/types.ts';
import { pendingRun } from './pending-run.ts';
import type { ModelInfo, ScoreRequest, Scorer, ScoreResult } from './types.ts';

interface Loaded {
  manifest: Manifest;
  model: RiskModel;
  loadedAt: string;
}

export interface ModelScorerOptions {
  store: Store;
  modelsDir: string;
  timezone?: string;
  /** Answers (degraded) while no model can be loaded. */
  fallback?: Scorer;
  /** How often to look for a new champion; 0 disables the watch (tests drive `reload`). */
  pollMs?: number;
  topFactors?: number;
  /** Default attribution for factors (a request may ask for another); `path` unless configured. */
  attribution?: Attribution;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export type ModelScorer = Scorer & {
  /** Loads the current champion if it changed; a failed load keeps the model in service. */
  reload(): Promise<boolean>;
  /** Starts shadow scoring with another registered model (its score is recorded, never answered). */
  setShadow(id: string | null): Promise<void>;
  features(req: ScoreRequest): Float64Array;
  close(): void;
};

/**
 * Says when a score cannot lean on history: with no finished run of the repo the model answers from the change
 * and the clock alone (a bare "medium 0.41" would read as a judgement of the repo).
 */
export function historyNote(
  req: Pick<ScoreRequest, 'repo' | 'head_branch' | 'workflow'>,
  x: ArrayLike<number>,
): string | undefined {
  if (Number.isNaN(x[FEATURE_INDEX.last_outcome])) {
    return `no finished runs of ${req.repo} are known yet: the score rests on the change and the time alone; post outcomes to /v1/outcomes or import history`;
  }
  // Branch history is looked up per workflow; without one named, "none on this branch" would only mean "none
  // without a workflow", which says nothing to the caller.
  if (req.head_branch != null && req.workflow != null && Number.isNaN(x[FEATURE_INDEX.wb_last_outcome])) {
    return `no finished runs of workflow "${req.workflow}" on ${req.head_branch} among ${req.repo}'s recent runs: the score leans on the repo's history`;
  }
  return undefined;
}

const toInfo = (m: Manifest): ModelInfo => ({ id: m.id, version: m.created_at, kind: m.kind });

async function loadVerified(registry: Registry, id: string): Promise<Loaded> {
  const { manifest, artifact } = registry.readArtifact(id);
  const model = await loadModel(artifact);
  if (model.featureNames.join(',') !== FEATURES.join(',')) {
    throw new Error(
      `model ${id} was trained on a different feature set (${model.featureNames.length} features); retrain it`,
    );
  }
  return { manifest, model, loadedAt: new Date().toISOString() };
}

/**
 * Serves the registry's champion. The model reference is swapped in one assignment after the new model has
 * loaded and verified, so requests in flight finish on the old one and none fail during a swap.
 */
export async function createModelScorer(o: ModelScorerOptions): Promise<ModelScorer> {
  const registry = new Registry(o.modelsDir);
  const calendar = new Calendar(o.timezone ?? 'UTC');
  const history = new LiveHistory(o.store, { calendar });
  const top = o.topFactors ?? 5;
  const attribution = o.attribution ?? 'path';
  let current: Loaded | null = null;
  let shadow: Loaded | null = null;
  let loading: Promise<boolean> | null = null;
  // A champion that fails to load fails again on every poll (every 2 s) until someone changes a file; it is
  // logged once, and again only when what failed changes (another champion, another error, a file rewritten).
  let lastFailure: string | null = null;
  const fileStamp = (id: string): string => {
    const stamp = (f: string) => {
      try {
        const st = statSync(join(o.modelsDir, id, f));
        return `${st.size}@${st.mtimeMs}`;
      } catch {
        return '-';
      }
    };
    return `${stamp('manifest.json')},${stamp('model.json')}`;
  };

  const reload = (): Promise<boolean> =>
    (loading ??= (async () => {
      const id = registry.championId();
      if (!id || (current && current.manifest.id === id && current.manifest.sha256 === registry.manifest(id)?.sha256))
        return false;
      try {
        const next = await loadVerified(registry, id);
        // Whatever the default method needs is built before the model takes requests.
        next.model.prepareExplain?.(attribution);
        const previous = current?.manifest.id;
        current = next;
        o.log?.info({ model: id, previous }, 'champion loaded');
        lastFailure = null;
        return true;
      } catch (err) {
        const message = (err as Error).message;
        const failure = `${id}\u0000${message}\u0000${fileStamp(id)}`;
        if (failure !== lastFailure) {
          lastFailure = failure;
          o.log?.warn(
            { model: id, err: message },
            current
              ? 'champion failed to load; keeping the model in service'
              : 'champion failed to load; answering with the fallback',
          );
        }
        return false;
      }
    })().finally(() => (loading = null)));

  await reload();
  const timer = o.pollMs === 0 ? null : setInterval(() => void reload(), o.pollMs ?? 2000);
  timer?.unref();

  const features = (req: ScoreRequest) => history.features(pendingRun(req));

  return {
    async score(req) {
      const loaded = current;
      if (!loaded) {
        if (o.fallback) return { ...(await o.fallback.score(req)), degraded: true };
        throw new Error('no model loaded and no fallback configured');
      }
      let x: Float64Array;
      try {
        x = features(req);
      } catch (err) {
        // This repo's (or author's) history is not in memory and the store cannot be read: the rules answer
        // if they can read the repo's recent outcomes; if not, the StoreUnavailableError is a 503.
        if (!(err instanceof StoreUnavailableError) || !o.fallback) throw err;
        return {
          ...(await o.fallback.score(req)),
          degraded: true,
          degraded_reason: 'store partly unavailable and this history not in memory: rule-based fallback',
        };
      }
      const probability = loaded.model.predict(x);
      const { contributions, method } = loaded.model.explain(x, { method: req.attribution ?? attribution });
      const factors = contributions
        .filter((c) => c.contribution !== 0)
        .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
        .slice(0, top)
        .map((c) => ({
          feature: c.feature,
          value: Number.isFinite(c.value) ? c.value : null,
          contribution: c.contribution,
        }));
      const result: ScoreResult = {
        probability,
        model: toInfo(loaded.manifest),
        degraded: false,
        factors,
        attribution: method,
        features: x,
      };
      const note = historyNote(req, x);
      if (note) result.note = note;
      if (history.staleSince) {
        result.degraded = true;
        result.degraded_reason = `store unavailable since ${history.staleSince}: features from the history held in memory, without outcomes recorded since`;
      }
      const sh = shadow;
      if (sh) result.shadow = { model: toInfo(sh.manifest), probability: sh.model.predict(x) };
      return result;
    },
    ready: () => current !== null || o.fallback !== undefined,
    info: () => (current ? { ...toInfo(current.manifest), loaded_at: current.loadedAt } : null),
    reload,
    async setShadow(id) {
      shadow = id ? await loadVerified(registry, id) : null;
    },
    features,
    close() {
      if (timer) clearInterval(timer);
      history.close();
    },
  };
}
