import type { TuneMode } from '../../src/ml/tune.ts';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildFrame, type Frame } from '../../src/features/frame.ts';
import { loadModel, type ModelKind } from '../../src/ml/model.ts';
import { IntegrityError, Registry, writeFileAtomic, type Manifest } from '../../src/registry/registry.ts';
import { referenceFromRows, REFERENCE_FILE } from '../../src/registry/drift.ts';
import type { Store } from '../../src/store/types.ts';
import { decide, type ComparedMetrics, type Decision, type Margins } from '../challenger.ts';
import { TRIAL_STATE } from '../../src/serving/shadow.ts';
import { evaluate, registerCandidate, trainCandidates } from '../pipeline.ts';
import { splitByTime, takeRows, timeOrder } from '../split.ts';

export interface RetrainOptions {
  store: Store;
  modelsDir: string;
  /** Only runs created before this instant are seen (the scheduler's clock; the replay's simulated "now"). */
  until?: string;
  /** Only this repository's runs (`riskgate train --repo`). */
  repo?: string;
  /** Sees the candidates' comparison (the CLI prints it as a table). */
  onRun?: (run: Awaited<ReturnType<typeof trainCandidates>>) => void;
  timezone?: string;
  kinds?: readonly ModelKind[];
  margins?: Partial<Margins>;
  seed?: number;
  /** A challenger that passes offline goes on trial (shadow scoring on live traffic) instead of taking over. */
  shadowTrial?: boolean;
  /** Threads the tree learners may use (default: every core for large histories). */
  threads?: number;
  /** Forward-validated gbdt shape search (default 'auto': small training sets only, see src/ml/tune.ts) and its time budget (default 60 s). */
  tune?: TuneMode;
  tuneBudgetMs?: number;
  log?: (m: string) => void;
}

export interface RetrainResult {
  challenger: string;
  kind: string;
  promoted: boolean;
  /** Passed offline and now waits for the live-traffic comparison (shadow trial mode). */
  on_trial: boolean;
  previous_champion: string | null;
  champion: string | null;
  decision: Decision;
  holdout: { rows: number; from: string | null; to: string | null };
  data_range: Manifest['data_range'];
  removed_orphans: string[];
}

const VERSION_NAME = /^[a-z0-9][a-z0-9-]{0,80}$/;

/**
 * A crash between the registry's artifact write and its manifest write leaves a folder with an artifact and no
 * manifest: never listed, never served, but it would pile up. Folders younger than `minAgeMs` may belong to a
 * registration in progress in another process, so they are left alone.
 */
export function removeOrphanVersions(modelsDir: string, minAgeMs = 60_000, now = Date.now()): string[] {
  if (!existsSync(modelsDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(modelsDir)) {
    if (!VERSION_NAME.test(name)) continue;
    const dir = join(modelsDir, name);
    let st;
    try {
      st = statSync(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory() || existsSync(join(dir, 'manifest.json'))) continue;
    if (now - st.mtimeMs < minAgeMs) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

const pick = (m: ComparedMetrics): ComparedMetrics => ({ pr_auc: m.pr_auc, f1: m.f1, brier: m.brier });

/** Scores the serving champion on the given rows; null when it cannot be loaded or was trained on other features. */
export async function championMetrics(
  registry: Registry,
  frame: Frame,
  rows: ArrayLike<number>,
): Promise<{ id: string; metrics: ComparedMetrics | null; error?: string; refused?: boolean } | null> {
  const id = registry.championId();
  if (!id) return null;
  try {
    const { artifact } = registry.readArtifact(id);
    const model = await loadModel(artifact);
    return { id, metrics: pick(evaluate(model, frame, rows)) };
  } catch (err) {
    return { id, metrics: null, error: (err as Error).message, refused: err instanceof IntegrityError };
  }
}

/**
 * One retrain: frame the history known at `until`, train the candidates, register the best as a challenger,
 * score the champion on the very same newest holdout and promote only if the rule says so. The champion
 * pointer is the last thing written, atomically, so a crash anywhere leaves the old champion serving.
 */
export async function retrainOnce(o: RetrainOptions): Promise<RetrainResult> {
  const log = o.log ?? (() => {});
  const registry = new Registry(o.modelsDir);
  const removed = removeOrphanVersions(o.modelsDir);
  if (removed.length) log(`removed ${removed.length} half-written model folder(s): ${removed.join(', ')}`);
  const frame = buildFrame(o.store.iterateRuns({ repo: o.repo, until: o.until }), { timezone: o.timezone });
  log(`framed ${frame.n} finished runs`);
  const run = await trainCandidates(frame, {
    kinds: o.kinds ?? ['gbdt', 'baseline'],
    seed: o.seed,
    threads: o.threads,
    log,
    tune: o.tune ?? 'auto',
    tuneBudgetMs: o.tuneBudgetMs,
  });
  o.onRun?.(run);
  // Same split as trainCandidates (its default fractions), so both models face the identical holdout.
  const { train, holdout } = splitByTime(timeOrder(frame), 0.15, 0.15);
  const champ = await championMetrics(registry, frame, holdout);
  const decision = decide({ champion: champ?.metrics ?? null, challenger: pick(run.best.metrics), margins: o.margins });
  if (champ?.error) decision.reasons.push(`champion ${champ.id}: ${champ.error}`);
  // A champion refused by its hash is a tampered or damaged file, not a weaker model: a retrain must not
  // replace it on its own (issue 16.11). The challenger is registered for an operator to promote by hand.
  if (champ?.refused && decision.promote) {
    decision.promote = false;
    decision.reasons.push(
      `champion ${champ.id} was refused (integrity check); not promoting on our own — restore it, roll back or promote by hand`,
    );
  }
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const holdoutInfo = {
    rows: holdout.length,
    from: iso(frame.createdMs[holdout[0]]),
    to: iso(frame.createdMs[holdout[holdout.length - 1]]),
  };

  const manifest = registerCandidate(registry, run, run.best, decision.promote ? 'challenger' : 'rejected', {
    rule: 'champion/challenger on the newest time-ordered holdout',
    promote: decision.promote,
    reasons: decision.reasons,
    numbers: decision.numbers,
    against: champ?.id ?? null,
    holdout: holdoutInfo,
  });
  // The drift reference describes what the model was trained on; written before any promotion so a served
  // champion always has one.
  const trainDs = takeRows(frame, train);
  const reference = referenceFromRows(
    trainDs.X,
    trainDs.n,
    trainDs.d,
    trainDs.featureNames,
    run.best.model.predictBatch(trainDs.X, trainDs.n),
  );
  writeFileAtomic(join(o.modelsDir, manifest.id, REFERENCE_FILE), JSON.stringify(reference));

  const previous = registry.championId() ?? null;
  const onTrial = decision.promote && o.shadowTrial === true && previous !== null;
  if (onTrial) o.store.setState(TRIAL_STATE, manifest.id);
  else if (decision.promote) registry.setChampion(manifest.id);
  const promoted = decision.promote && !onTrial;
  const final = registry.manifest(manifest.id)!;
  o.store.putModel({
    id: final.id,
    kind: final.kind,
    status: final.status,
    created_at: final.created_at,
    metrics: final.metrics,
    data_range: final.data_range,
  });
  if (promoted && previous) {
    const p = registry.manifest(previous);
    if (p)
      o.store.putModel({
        id: p.id,
        kind: p.kind,
        status: p.status,
        created_at: p.created_at,
        metrics: p.metrics,
        data_range: p.data_range,
      });
  }
  log(
    `${final.id}: ${promoted ? 'promoted' : onTrial ? 'on shadow trial' : 'rejected'} — ${decision.reasons.join('; ')}`,
  );
  return {
    challenger: final.id,
    kind: final.kind,
    promoted,
    on_trial: onTrial,
    previous_champion: previous,
    champion: registry.championId() ?? null,
    decision,
    holdout: holdoutInfo,
    data_range: final.data_range,
    removed_orphans: removed,
  };
}

/** Re-scores the champion on the newest slice of history: a falling PR-AUC is the first sign the model went stale. */
export async function evaluateChampion(o: {
  store: Store;
  modelsDir: string;
  until?: string;
  timezone?: string;
  fraction?: number;
}): Promise<Record<string, unknown>> {
  const registry = new Registry(o.modelsDir);
  const frame = buildFrame(o.store.iterateRuns({ until: o.until }), { timezone: o.timezone });
  if (frame.n < 50) return { evaluated: false, reason: `only ${frame.n} finished runs` };
  const order = timeOrder(frame);
  const k = Math.max(20, Math.round(frame.n * (o.fraction ?? 0.15)));
  const newest = order.subarray(Math.max(0, order.length - k));
  const champ = await championMetrics(registry, frame, newest);
  if (!champ) return { evaluated: false, reason: 'no champion' };
  if (!champ.metrics) return { evaluated: false, champion: champ.id, reason: champ.error };
  const m = registry.manifest(champ.id);
  const registered = m ? { pr_auc: m.metrics.pr_auc, f1: m.metrics.f1, brier: m.metrics.brier } : null;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    evaluated: true,
    champion: champ.id,
    rows: newest.length,
    from: iso(frame.createdMs[newest[0]]),
    to: iso(frame.createdMs[newest[newest.length - 1]]),
    metrics: champ.metrics,
    at_registration: registered,
    pr_auc_change: registered ? champ.metrics.pr_auc - registered.pr_auc : null,
  };
}
