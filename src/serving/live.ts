import { readReference, type DriftMonitor } from '../registry/drift.ts';
import { Registry } from '../registry/registry.ts';
import type { Store } from '../store/types.ts';
import { AB_SHARE_STATE, abArm, recordShadow, TRIAL_STATE } from './shadow.ts';
import type { Alerter } from '../alerts/alerter.ts';
import type { ModelScorer } from './model-scorer.ts';
import type { ScoreRequest, ScoreResult } from './types.ts';

/**
 * Wraps the serving scorer with everything that watches live traffic: shadow scoring of the challenger on
 * trial (optionally serving a share of repositories from it), drift tracking, and high-score alerts. All the
 * bookkeeping runs after the answer is computed, on a later tick, so none of it delays a request.
 */
export interface LiveOptions {
  store: Store;
  modelsDir: string;
  drift?: DriftMonitor;
  alerter?: Alerter;
  /** Scores at or above this raise a `high_score` alert (RISKGATE_ALERT_MIN_SCORE). */
  minAlertScore?: number;
  /** How often to pick up a new trial, A/B share or champion (ms); 0 = only on `refresh()`. */
  pollMs?: number;
  /** How often the drift monitor is checked (ms); 0 = only on `refresh()`. */
  driftCheckMs?: number;
  log?: { warn(o: object, m?: string): void; info(o: object, m?: string): void };
}

export type LiveScorer = ModelScorer & { refresh(): Promise<void> };

export function instrumentScorer(inner: ModelScorer, o: LiveOptions): LiveScorer {
  const registry = new Registry(o.modelsDir);
  let trial: string | null = null;
  let share = 0;
  let referenceFor: string | null = null;
  const minScore = o.minAlertScore ?? 0.8;
  // Manifests are immutable in their threshold; cached so shadow scoring adds no file reads per request.
  const thresholds = new Map<string, number>();

  const refresh = async () => {
    const want = o.store.getState(TRIAL_STATE) ?? null;
    const champion = inner.info()?.id ?? null;
    const next = want && want !== champion && registry.manifest(want) ? want : null;
    if (next !== trial) {
      try {
        await inner.setShadow(next);
        trial = next;
        o.log?.info({ challenger: next }, next ? 'shadow trial started' : 'shadow trial ended');
      } catch (err) {
        o.log?.warn(
          { challenger: next, err: (err as Error).message },
          'could not load the challenger for shadow scoring',
        );
      }
    }
    const s = Number(o.store.getState(AB_SHARE_STATE) ?? '0');
    share = Number.isFinite(s) ? Math.min(1, Math.max(0, s)) : 0;
    if (o.drift && champion !== referenceFor) {
      referenceFor = champion;
      o.drift.setReference(champion, champion ? readReference(o.modelsDir, champion) : null);
    }
    o.drift?.check();
  };
  const timers = [
    o.pollMs === 0 ? null : setInterval(() => void refresh().catch(() => undefined), o.pollMs ?? 5000),
    !o.drift || o.driftCheckMs === 0 ? null : setInterval(() => o.drift!.check(), o.driftCheckMs ?? 60_000),
  ].filter((t): t is NodeJS.Timeout => t !== null);
  for (const t of timers) t.unref();

  const after = (req: ScoreRequest, served: ScoreResult, championP: number) => {
    setImmediate(() => {
      try {
        if (o.drift && served.model && !served.degraded)
          o.drift.observe(served.features ?? inner.features(req), championP);
        if (o.alerter && served.probability >= minScore && !served.degraded) {
          o.alerter.alert({
            kind: 'high_score',
            repo: req.repo,
            head_sha: req.head_sha ?? null,
            score: served.probability,
            factors: served.factors,
            message: `Predicted failure probability ${(served.probability * 100).toFixed(0)} % for this build.`,
          });
        }
      } catch (err) {
        o.log?.warn({ err: (err as Error).message }, 'live bookkeeping failed');
      }
    });
  };

  return {
    ...inner,
    refresh,
    close() {
      for (const t of timers) clearInterval(t);
      inner.close();
    },
    async score(req) {
      const r = await inner.score(req);
      const sh = r.shadow;
      if (!sh || !r.model) {
        after(req, r, r.probability);
        return r;
      }
      const arm = abArm(req.repo, share, sh.model.id);
      const served: ScoreResult =
        arm === 'challenger'
          ? {
              ...r,
              probability: sh.probability,
              model: sh.model,
              shadow: { model: r.model, probability: r.probability },
            }
          : r;
      const champ = r.model;
      if (req.head_sha) {
        const th = (id: string) => {
          let t = thresholds.get(id);
          if (t === undefined) thresholds.set(id, (t = registry.manifest(id)?.threshold ?? 0.5));
          return t;
        };
        const obs = {
          repo: req.repo,
          head_sha: req.head_sha,
          arm,
          champion: { id: champ.id, p: r.probability, threshold: th(champ.id) },
          challenger: { id: sh.model.id, p: sh.probability, threshold: th(sh.model.id) },
        };
        setImmediate(() => {
          try {
            recordShadow(o.store, obs);
          } catch (err) {
            o.log?.warn({ err: (err as Error).message }, 'could not record the shadow score');
          }
        });
      }
      after(req, served, r.probability);
      return served;
    },
  };
}
