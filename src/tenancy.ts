/**
 * Tenancy: which rollouts and repos a caller may write, and which rollouts it may see (issue 16.2/16.3).
 *
 * - A key bound by RISKGATE_KEY_BINDINGS writes only the canary services matching its `service:` globs
 *   and the repos matching its `repo:` globs (run history: outcomes, canary outcomes as training data).
 * - Every rollout (service@version) is owned by the key that wrote its first decision; another key's
 *   decisions for it are refused, whatever its binding, so one CI key cannot steer another team's rollout.
 * - An admin key may write anything; `report` (or admin) reads every rollout; a key with only `score` sees
 *   the rollouts its binding covers, or, unbound, those it owns.
 * Without API keys the server listens on loopback only and the single local caller owns everything.
 */
import type { Scope } from './config.ts';
import { Refusal } from './errors.ts';

export interface Tenant {
  name: string;
  scopes: readonly Scope[];
  services?: readonly string[];
  repos?: readonly string[];
}

/** `*` matches any run of characters (slashes included); everything else literally. */
export function globMatch(glob: string, value: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === value;
  if (!value.startsWith(parts[0]) || !value.endsWith(parts[parts.length - 1])) return false;
  let at = parts[0].length;
  const end = value.length - parts[parts.length - 1].length;
  for (let i = 1; i < parts.length - 1; i++) {
    const j = value.indexOf(parts[i], at);
    if (j < 0 || j + parts[i].length > end) return false;
    at = j + parts[i].length;
  }
  return at <= end;
}

const isAdmin = (t: Tenant): boolean => t.scopes.includes('admin');

export function mayWriteService(t: Tenant, service: string): boolean {
  return isAdmin(t) || t.services === undefined || t.services.some((g) => globMatch(g, service));
}

export function mayWriteRepo(t: Tenant, repo: string): boolean {
  return isAdmin(t) || t.repos === undefined || t.repos.some((g) => globMatch(g, repo));
}

/** May this caller write into a rollout first written by `owner` (undefined: not written yet)? */
export function mayWriteRollout(t: Tenant, service: string, owner: string | undefined): boolean {
  return mayWriteService(t, service) && (owner === undefined || owner === t.name || isAdmin(t));
}

export function maySeeRollout(t: Tenant, service: string, owner: string | undefined): boolean {
  if (t.scopes.includes('report') || isAdmin(t)) return true;
  if (t.services !== undefined) return t.services.some((g) => globMatch(g, service));
  return owner !== undefined && owner === t.name;
}

/** The 403 for a write the tenancy rules refuse; names what was refused, never another key's name. */
export function forbidden(what: string): Refusal {
  return new Refusal('forbidden', 'forbidden', what);
}

export function assertMayWriteRollout(t: Tenant, service: string, version: string, owner: string | undefined): void {
  if (!mayWriteService(t, service)) throw forbidden(`API key "${t.name}" is not bound to service "${service}"`);
  if (!mayWriteRollout(t, service, owner)) throw forbidden(`rollout ${service}@${version} belongs to another API key`);
}

export function assertMayWriteRepo(t: Tenant, repo: string): void {
  if (!mayWriteRepo(t, repo)) throw forbidden(`API key "${t.name}" is not bound to repo "${repo}"`);
}
