/** Plain-text comparison table of simulated rollout policies (shared by the CLI command and the benchmark). */
import type { PolicySummary } from './simulator.ts';

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const num = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

export function comparisonTable(rows: PolicySummary[]): string {
  const head = [
    'policy',
    'bad rolled back',
    'bad exposure %·min',
    'good rolled back',
    'good promoted',
    'steps to 100 %',
    'decisions',
    'minutes to 100 %',
  ];
  const body = rows.map((r) => [
    r.policy,
    `${pct(r.bad_rolled_back)} of ${r.bad_count}`,
    num(r.bad_exposure),
    `${pct(r.good_rolled_back)} of ${r.good_count}`,
    pct(r.good_promoted),
    num(r.good_steps, 2),
    num(r.good_decisions, 2),
    num(r.good_minutes, 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  const kinds = Object.keys(rows[0]?.by_kind ?? {});
  out.push('', 'per release kind: rolled back / promoted (mean exposure %·min)');
  out.push(['kind'.padEnd(22), ...rows.map((r) => r.policy.padEnd(24))].join(''));
  for (const k of kinds) {
    out.push(
      [
        k.padEnd(22),
        ...rows.map((r) => {
          const v = r.by_kind[k];
          return `${v.rolled_back}/${v.promoted} of ${v.count} (${num(v.exposure, 0)})`.padEnd(24);
        }),
      ].join(''),
    );
  }
  return out.join('\n');
}
