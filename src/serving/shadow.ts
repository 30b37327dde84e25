import { createHash } from 'node:crypto';
import type { Store } from '../store/types.ts';

/**
 * Shadow scoring on live traffic: every request scored while a challenger is on trial is recorded with both
 * probabilities; once the builds' outcomes arrive (joined by repo + head_sha) the two models are compared on
 * exactly the same requests, with the same rule as the offline holdout (training/jobs/shadow.ts). This is
 * the recording half, on the hot path: the trial's state keys, the arm of each repo, the recorded pair.
 */
export const SHADOW_EVENT = 'shadow';
/** Store state key holding the id of the challenger on trial (absent: no trial). */
export const TRIAL_STATE = 'shadow:challenger';
/** Store state key holding the share of repositories served by the challenger (true A/B), "0" when off. */
export const AB_SHARE_STATE = 'shadow:ab_share';

export type Arm = 'champion' | 'challenger';

export interface ShadowObservation {
  repo: string;
  head_sha: string;
  arm: Arm;
  champion: { id: string; p: number; threshold: number };
  challenger: { id: string; p: number; threshold: number };
}

export function recordShadow(store: Store, o: ShadowObservation): void {
  store.appendEvent(SHADOW_EVENT, o.challenger.id, { ...o });
}

/** A stable per-repository arm: the same repo always lands in the same arm for a given challenger. */
export function abArm(repo: string, share: number, salt: string): Arm {
  if (share <= 0) return 'champion';
  if (share >= 1) return 'challenger';
  const h = createHash('sha256').update(`${salt}\u0000${repo}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < share ? 'challenger' : 'champion';
}
