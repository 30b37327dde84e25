/**
 * Model management operations, shared by the HTTP routes (src/registry/router.ts) and the CLI
 * (`riskgate models`): list and inspect versions, promote, roll back, put a challenger on a shadow trial
 * and end it, and the read-outs of the trial and the scheduled jobs. Every change is audited with who,
 * when and why. A refusal is a `Refusal` (not_found / conflict), never an HTTP error: the callers map it
 * (the HTTP edge to 404 / 409, the CLI to exit 3 / 1).
 */
import { Refusal } from '../errors.ts';
import { z } from 'zod';
import { AB_SHARE_STATE, TRIAL_STATE } from '../serving/shadow.ts';
import { shadowReport } from '../../training/jobs/shadow.ts';
import type { JobName } from '../config/background.ts';
import { describeJobs } from '../../training/scheduler.ts';
import type { Store } from '../store/types.ts';
import { Registry, type Manifest } from './registry.ts';

export const ModelIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,80}$/, 'must be a model id such as gbdt-20250101120000-ab12cd');

const indexRow = (m: Manifest) => ({
  id: m.id,
  kind: m.kind,
  status: m.status,
  created_at: m.created_at,
  metrics: m.metrics,
  data_range: m.data_range,
});

export function modelSummary(m: Manifest, championId: string | undefined, trial: string | null) {
  return {
    id: m.id,
    kind: m.kind,
    status: m.status,
    champion: m.id === championId,
    on_trial: m.id === trial,
    created_at: m.created_at,
    data_range: m.data_range,
    metrics: m.metrics,
    threshold: m.threshold,
    code_version: m.code_version,
  };
}

export function listModels(store: Store, modelsDir: string) {
  const registry = new Registry(modelsDir);
  const champion = registry.championId();
  const trial = store.getState(TRIAL_STATE) ?? null;
  return {
    champion: champion ?? null,
    trial,
    ab_share: Number(store.getState(AB_SHARE_STATE) ?? 0),
    previous: registry.history(),
    models: registry
      .list()
      .reverse()
      .map((m) => modelSummary(m, champion, trial)),
  };
}

export function showModel(store: Store, modelsDir: string, id: string) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new Refusal('not_found', 'not_found', `no model "${id}"`);
  return { ...m, champion: registry.championId() === id, on_trial: store.getState(TRIAL_STATE) === id };
}

function audit(store: Store, actor: string, action: string, subject: string, detail: Record<string, unknown>): void {
  store.appendAudit({ at: new Date().toISOString(), actor, action, subject, detail });
}

export function promoteModel(store: Store, modelsDir: string, id: string, actor: string, reason: string) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new Refusal('not_found', 'not_found', `no model "${id}"`);
  const previous = registry.championId() ?? null;
  if (previous === id) throw new Refusal('conflict', 'conflict', `${id} is already the champion`);
  try {
    registry.setChampion(id);
  } catch (err) {
    throw new Refusal('conflict', 'conflict', `cannot promote ${id}: ${(err as Error).message}`);
  }
  if (store.getState(TRIAL_STATE) === id) store.deleteState(TRIAL_STATE);
  for (const x of [id, previous]) {
    const mm = x ? registry.manifest(x) : undefined;
    if (mm) store.putModel(indexRow(mm));
  }
  audit(store, actor, 'promote', id, { reason, previous });
  return { champion: id, previous };
}

export function rollbackModel(store: Store, modelsDir: string, actor: string, reason: string) {
  const registry = new Registry(modelsDir);
  const from = registry.championId() ?? null;
  let to: string;
  try {
    to = registry.rollback();
  } catch (err) {
    throw new Refusal('conflict', 'conflict', (err as Error).message);
  }
  for (const x of [to, from]) {
    const mm = x ? registry.manifest(x) : undefined;
    if (mm) store.putModel(indexRow(mm));
  }
  audit(store, actor, 'rollback', to, { reason, from });
  return { champion: to, previous: from };
}

export function startTrial(store: Store, modelsDir: string, id: string, actor: string, reason: string, abShare = 0) {
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (!m) throw new Refusal('not_found', 'not_found', `no model "${id}"`);
  if (registry.championId() === id)
    throw new Refusal('conflict', 'conflict', `${id} is the champion; a trial needs a challenger`);
  try {
    registry.readArtifact(id);
  } catch (err) {
    throw new Refusal('conflict', 'conflict', `cannot trial ${id}: ${(err as Error).message}`);
  }
  if (m.status !== 'challenger') registry.updateStatus(id, 'challenger');
  store.setState(TRIAL_STATE, id);
  store.setState(AB_SHARE_STATE, String(abShare));
  audit(store, actor, 'trial', id, { reason, ab_share: abShare });
  return { trial: id, ab_share: abShare };
}

/**
 * Ends a trial without promoting: the challenger is retired (it lost or was stopped), so it no longer shows
 * as a "challenger" waiting for a decision; `models promote ID` can still make it champion later.
 */
export function endTrial(store: Store, modelsDir: string, actor: string, reason: string) {
  const id = store.getState(TRIAL_STATE);
  if (!id) throw new Refusal('conflict', 'conflict', 'no challenger is on trial');
  store.deleteState(TRIAL_STATE);
  store.setState(AB_SHARE_STATE, '0');
  const registry = new Registry(modelsDir);
  const m = registry.manifest(id);
  if (m && m.status === 'challenger') {
    registry.updateStatus(id, 'retired');
    store.putModel(indexRow(registry.manifest(id)!));
  }
  audit(store, actor, 'end_trial', id, { reason });
  return { ended: id, status: registry.manifest(id)?.status ?? null };
}

/** Champion vs. the challenger on trial, on the same live requests. */
export const trialReport = (store: Store) => shadowReport(store);

/** When each scheduled job runs: the scheduler's settings (RISKGATE_*_CRON, read and checked at start-up). */
export type JobSchedule = Record<JobName, string>;

/** The scheduled jobs with their schedule, running state and last runs. */
export const listJobs = (store: Store, cron: JobSchedule, running?: ReadonlySet<string>) => ({
  jobs: describeJobs(store, cron, running),
});
