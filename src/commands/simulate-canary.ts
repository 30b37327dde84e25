import {
  fixedStepsPolicy,
  httpPolicy,
  kayentaPolicy,
  riskgatePolicy,
  SIMULATED_SERVICE_PREFIX,
} from '../canary/policies.ts';
import { commandSettings } from '../config/commands.ts';
import { parseCommandArgs } from './args.ts';
import { progressDone, progressLine } from './shared.ts';
import { comparisonTable } from '../canary/report.ts';
import { DEFAULT_SIM, simulate, type CanaryPolicy, type PolicySummary } from '../canary/simulator.ts';

export const summary = 'Simulate canary rollouts (good and bad releases) and compare rollout policies';
export const help = `Usage: riskgate simulate-canary [--seed N] [--per-kind N] [--policies LIST] [--url URL] [--json]

Generates seeded releases — good, noisy-but-fine, and bad ones (step error regression, slow memory leak,
latency tail only, rising variance, sparse errors, errors against a zero-error baseline) — and rolls each
out with every policy through the same loop: one decision per interval from per-second canary and baseline
samples. Reports the share of bad releases rolled back, traffic exposed (weight × minutes over the horizon),
the share of good releases wrongly rolled back, and traffic steps / decisions / minutes to full traffic.

Options:
  --seed N          PRNG seed (default ${DEFAULT_SIM.seed})
  --per-kind N      releases per kind (default ${DEFAULT_SIM.perKind})
  --interval-s N    seconds per decision interval, one sample per second (default ${DEFAULT_SIM.interval_s})
  --policies LIST   comma-separated: riskgate, fixed-steps, kayenta-mw (default all three)
  --url URL         drive a running server's POST /v1/canary/decision instead of the in-process controller
                    (RISKGATE_API_KEY is sent as the bearer token if set). The rollouts are stored under
                    service "${SIMULATED_SERVICE_PREFIX}canary", which the dashboard leaves out; a 429 is
                    waited out (Retry-After), so a run paces itself to the server's rate limit
  --json            print the summaries as JSON instead of a table

Exit codes: 0 done, 2 bad arguments, 1 failure (e.g. the server at --url answered an error).

Examples:
  riskgate simulate-canary
  riskgate simulate-canary --seed 7 --per-kind 200 --policies riskgate,kayenta-mw
  riskgate simulate-canary --url http://127.0.0.1:8080 --per-kind 20`;

function posInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new RangeError(`--${name}: must be a positive integer, got "${v}"`);
  return Number(v);
}

export async function run(argv: string[]): Promise<number> {
  let cfg: typeof DEFAULT_SIM;
  let policies: CanaryPolicy[];
  let json: boolean;
  let waits = 0;
  const { values } = parseCommandArgs(argv, {
    options: {
      seed: { type: 'string' },
      'per-kind': { type: 'string' },
      'interval-s': { type: 'string' },
      policies: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  try {
    cfg = {
      ...DEFAULT_SIM,
      seed: posInt('seed', values.seed, DEFAULT_SIM.seed),
      perKind: posInt('per-kind', values['per-kind'], DEFAULT_SIM.perKind),
      interval_s: posInt('interval-s', values['interval-s'], DEFAULT_SIM.interval_s),
    };
    json = values.json ?? false;
    if (values.url !== undefined) {
      try {
        new URL(values.url);
      } catch {
        throw new RangeError(`--url: not a URL: "${values.url}"`);
      }
    }
    const token = commandSettings().apiKey;
    const known: Record<string, () => CanaryPolicy> = {
      riskgate: () =>
        values.url
          ? httpPolicy(values.url, token ? { authorization: `Bearer ${token}` } : {}, {
              onWait: (ms) => (
                waits++,
                progressLine(`rate limited by ${values.url}; waiting ${ms / 1000} s (${waits} waits so far)…`)
              ),
            })
          : riskgatePolicy(),
      'fixed-steps': fixedStepsPolicy,
      'kayenta-mw': () => kayentaPolicy(),
    };
    const names = (values.policies ?? 'riskgate,fixed-steps,kayenta-mw')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of names)
      if (!known[n]) throw new RangeError(`--policies: unknown policy "${n}" (use ${Object.keys(known).join(', ')})`);
    policies = names.map((n) => known[n]());
  } catch (err) {
    console.error(`riskgate simulate-canary: ${err instanceof Error ? err.message : String(err)}\n\n${help}`);
    return 2;
  }
  const rows: PolicySummary[] = [];
  for (const p of policies) {
    try {
      rows.push((await simulate(p, cfg)).summary);
    } catch (err) {
      console.error(`riskgate simulate-canary: policy ${p.name}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  }
  progressDone();
  if (waits > 0)
    console.error(`riskgate simulate-canary: the server rate-limited the run ${waits} time(s); it waited each out`);
  console.log(json ? JSON.stringify(rows, null, 2) : comparisonTable(rows));
  return 0;
}
