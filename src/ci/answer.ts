import type { RiskResponse } from '../serving/schemas.ts';

/**
 * Validates a /v1/risk answer for the CI client: the same rules as RiskResponseSchema (src/serving/schemas.ts),
 * written out by hand so the client bundle carries no zod. The bundle runs once per CI job, start to exit,
 * and zod's module set-up plus the server's ~60 schemas built at import cost more than the whole request:
 * without them the bundle went 219 → 26 KiB and `npm run bench -- action` 254 → 167 ms median (with the
 * CommonJS format; load average ~15 on 2 cores, so read the ratio to `node -e ''` + curl, 4.8 → 1.7).
 * test/ci/answer.test.ts checks that both accept and reject the same answers and keep the same fields.
 * Unknown fields are dropped, as zod's object() drops them.
 */
export type Parsed = { ok: true; value: RiskResponse } | { ok: false; error: string };

class Bad extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isObj(v)) throw new Bad(`${path}: expected object`);
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new Bad(`${path}: expected string`);
  return v;
}
function strOrNull(v: unknown, path: string): string | null {
  return v === null ? null : str(v, path);
}
function num(v: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Bad(`${path}: expected number`);
  if (v < min || v > max) throw new Bad(`${path}: out of range [${min}, ${max}]`);
  return v;
}
function int(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Bad(`${path}: expected int`);
  if (v < min) throw new Bad(`${path}: must be >= ${min}`);
  return v;
}
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (!values.includes(v as T)) throw new Bad(`${path}: expected one of ${values.join('|')}`);
  return v as T;
}
function arr<T>(v: unknown, path: string, item: (x: unknown, p: string) => T): T[] {
  if (!Array.isArray(v)) throw new Bad(`${path}: expected array`);
  return v.map((x, i) => item(x, `${path}.${i}`));
}

const MITIGATIONS = [
  'enable_extra_retries',
  'increase_timeouts',
  'require_manual_approval',
  'split_build_into_chunks',
  'warm_cache_preemptively',
  'use_alternative_cache',
] as const;

export function parseRiskResponse(json: unknown): Parsed {
  try {
    const r = obj(json, '(root)');
    const p = obj(r.policy, 'policy');
    const retry = obj(p.retry, 'policy.retry');
    const strategy = obj(p.strategy, 'policy.strategy');
    const env = obj(strategy.env, 'policy.strategy.env');
    const time = obj(p.time, 'policy.time');
    const model = r.model === null ? null : obj(r.model, 'model');
    const value: RiskResponse = {
      probability: num(r.probability, 'probability', 0, 1),
      risk_level: oneOf(r.risk_level, 'risk_level', ['low', 'medium', 'high'] as const),
      model: model && {
        id: str(model.id, 'model.id'),
        version: str(model.version, 'model.version'),
        kind: str(model.kind, 'model.kind'),
      },
      degraded:
        typeof r.degraded === 'boolean'
          ? r.degraded
          : (() => {
              throw new Bad('degraded: expected boolean');
            })(),
      factors: arr(r.factors, 'factors', (f, at) => {
        const o = obj(f, at);
        return {
          feature: str(o.feature, `${at}.feature`),
          value: o.value === null ? null : num(o.value, `${at}.value`),
          contribution: num(o.contribution, `${at}.contribution`),
        };
      }),
      attribution: strOrNull(r.attribution, 'attribution'),
      policy: {
        retry: {
          max_attempts: int(retry.max_attempts, 'policy.retry.max_attempts', 1),
          base_delay_ms: int(retry.base_delay_ms, 'policy.retry.base_delay_ms', 0),
          max_delay_ms: int(retry.max_delay_ms, 'policy.retry.max_delay_ms', 0),
          jitter: num(retry.jitter, 'policy.retry.jitter', 0, 1),
        },
        strategy: {
          name: oneOf(strategy.name, 'policy.strategy.name', ['conservative', 'standard', 'aggressive'] as const),
          env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, str(v, `policy.strategy.env.${k}`)])),
          reasons: arr(strategy.reasons, 'policy.strategy.reasons', str),
        },
        mitigations: arr(p.mitigations, 'policy.mitigations', (m, at) => {
          const o = obj(m, at);
          return { action: oneOf(o.action, `${at}.action`, MITIGATIONS), reason: str(o.reason, `${at}.reason`) };
        }),
        time: {
          local: str(time.local, 'policy.time.local'),
          maintenance_window: strOrNull(time.maintenance_window, 'policy.time.maintenance_window'),
          high_risk_period: strOrNull(time.high_risk_period, 'policy.time.high_risk_period'),
        },
      },
      request_id: str(r.request_id, 'request_id'),
    };
    // Optional explanations newer servers add (`degraded_reason`, `note`): kept when they are strings.
    for (const k of ['degraded_reason', 'note'] as const) {
      if (r[k] === undefined) continue;
      (value as unknown as Record<string, string>)[k] = str(r[k], k);
    }
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, error: err.message };
    throw err;
  }
}
