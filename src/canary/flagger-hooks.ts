/**
 * Flagger's webhooks, answered the way Flagger reads them (status per hook type, see flagger.ts `HOOKS`):
 * the audit `event`, the pre-rollout risk bar, the end of a rollout, and the judging hooks at the step
 * Flagger is at. The router only authenticates and validates; this decides and records.
 */
import { invalidRequest, Refusal } from '../errors.ts';
import { assertMayWriteRollout, forbidden, mayWriteService, type Tenant } from '../tenancy.ts';
import type { Store } from '../store/types.ts';
import {
  flaggerMaxWeight,
  flaggerToRequest,
  flaggerWeightAfterIncrease,
  hookVerdict,
  parseMeta,
  serviceOf,
  versionOf,
  type FlaggerHookName,
} from './flagger.ts';
import type { z } from 'zod';
import type { FlaggerWebhookRequest } from './schemas.ts';
import type { CanaryService } from './service.ts';

/** Flagger's events (the `event` hook), kept as an audit trail. */
export const FLAGGER_EVENT = 'canary_flagger_event';

/** What a hook answers: Flagger acts on the status (2xx yes, anything else no), people read the body. */
export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface FlaggerHookDeps {
  store: Store;
  /** Flagger pre-rollout bar on predicted failure risk (default 0.7). */
  preRolloutMaxRisk?: number;
  now?: () => number;
}

export class FlaggerHooks {
  private readonly bar: number;

  constructor(
    private readonly svc: CanaryService,
    private readonly deps: FlaggerHookDeps,
  ) {
    this.bar = deps.preRolloutMaxRisk ?? 0.7;
  }

  async handle(
    name: FlaggerHookName,
    body: z.output<typeof FlaggerWebhookRequest>,
    tenant: Tenant,
  ): Promise<HookAnswer> {
    const meta = parseMeta(body);
    if (!meta.ok) throw invalidRequest(meta.error, ['metadata']);
    const service = serviceOf(body);
    const version = versionOf(body);
    const owner = (): string | undefined => this.svc.loadRollout(service, version, true)?.owner;
    const svc = this.svc;

    if (name === 'event') {
      // Flagger adds eventMessage/eventType/timestamp; only those (bounded) are kept, never the rest of the map.
      if (!mayWriteService(tenant, service))
        throw forbidden(`API key "${tenant.name}" is not bound to service "${service}"`);
      const m = body.metadata ?? {};
      this.deps.store.appendEvent(FLAGGER_EVENT, service, {
        version,
        phase: body.phase ?? null,
        event_type: (m.eventType ?? '').slice(0, 64),
        message: (m.eventMessage ?? '').slice(0, 2000),
      });
      return { status: 200, body: { recorded: true, hook: name } };
    }

    if (name === 'post-rollout') {
      assertMayWriteRollout(tenant, service, version, owner());
      const outcome = body.phase === 'Succeeded' ? 'promoted' : body.phase === 'Failed' ? 'rolled_back' : undefined;
      if (!outcome)
        return {
          status: 200,
          body: { recorded: false, hook: name, reason: `phase ${body.phase ?? '(none)'} is not a rollout's end` },
        };
      svc.closeFlaggerRollout(service, version);
      const r = svc.recordOutcome({ service, version, outcome, head_sha: meta.value.head_sha }, tenant, {
        flagger: true,
      });
      return { status: 200, body: { ...r, hook: name, outcome } };
    }

    if (name === 'pre-rollout' || name === 'confirm-rollout') {
      assertMayWriteRollout(tenant, service, version, owner());
      const { risk, source } = await svc.resolveRisk({
        risk: meta.value.risk,
        deployment: { repo: meta.value.repo, head_sha: meta.value.head_sha },
      });
      const bar = this.bar;
      const ok = risk <= bar;
      this.deps.store.appendEvent('canary_pre_rollout', service, {
        version,
        hook: name,
        risk,
        source,
        bar,
        allowed: ok,
      });
      // pre-rollout: a failure is a failed check (Flagger rolls back at its threshold); confirm-rollout: it waits.
      return {
        status: ok ? 200 : name === 'pre-rollout' ? 403 : 409,
        body: {
          allowed: ok,
          risk,
          risk_source: source,
          reason: ok
            ? `predicted failure risk ${risk.toFixed(2)} ≤ bar ${bar}`
            : `predicted failure risk ${risk.toFixed(2)} is above the pre-rollout bar ${bar}`,
        },
      };
    }

    // The judging hooks judge the metrics this hook names, at the step Flagger is at (the weight Riskgate saw
    // it confirm, and the time since): never a decision cached from anyone's earlier post.
    if (name === 'confirm-traffic-increase' && !meta.value.stepWeight && !meta.value.stepWeights) {
      throw new Refusal('invalid', 'invalid_request', 'request failed validation', [
        {
          path: 'metadata.stepWeight',
          message:
            "Flagger never sends the weight: copy the Canary's analysis.stepWeight (or stepWeights) and maxWeight into this hook's metadata",
        },
      ]);
    }
    const prev = svc.loadRollout(service, version, true);
    const weight = prev?.weight ?? 0;
    const now = this.deps.now ? this.deps.now() : Date.now();
    const r = flaggerToRequest(body, meta.value, weight, prev ? (now - prev.changed_at) / 1000 : 0);
    if (!r.ok) throw invalidRequest(r.error, r.prefix);
    const maxWeight = flaggerMaxWeight(meta.value);
    const windowMs = (r.value.prometheus?.window_s ?? 60) * 1000;
    let verdict: ReturnType<typeof hookVerdict> | undefined;
    let at = weight;
    const d = await svc.decide(r.value, {
      writer: tenant,
      flagger: {
        sameLookWithinMs: windowMs * 0.9,
        settle: (dec, stored) => {
          at = stored?.weight ?? 0;
          verdict = hookVerdict(name, dec, at, maxWeight);
          return name === 'confirm-traffic-increase' && verdict.allowed
            ? flaggerWeightAfterIncrease(meta.value, at)
            : undefined;
        },
      },
    });
    const v = verdict ?? hookVerdict(name, d, at, maxWeight);
    return {
      status: v.status,
      body: {
        allowed: v.allowed,
        hook: name,
        weight: at,
        verdict: d.verdict,
        action: d.action,
        score: d.score,
        reason: v.reason,
        reasons: d.reasons,
        look: d.look,
      },
    };
  }
}
