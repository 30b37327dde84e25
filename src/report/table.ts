/** Plain-text rendering of the delivery report for terminals: aligned columns, no colours (pipes stay clean). */
import type { DoraReport } from './dora.ts';
import type { FlakyReport } from './flaky.ts';

export type Align = 'left' | 'right';

export function formatTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => ((align[i] ?? 'left') === 'right' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const num = (v: number | null, digits = 1): string => (v === null ? '–' : v.toFixed(digits));
const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);

export function formatReport(dora: DoraReport, flaky: FlakyReport, opts: { flakyLimit?: number } = {}): string {
  const t = dora.totals;
  const out: string[] = [];
  out.push(
    `Delivery report for ${dora.repo ?? '(no runs)'}: ${t.weeks} week(s) from ${t.from ?? '–'} to ${t.to ?? '–'} (weeks start Monday, ${dora.timezone})`,
  );
  out.push(
    `Deployments = ${dora.deploy_source === 'workflows' ? 'successful runs of deploy/release workflows' : `successful push runs on ${dora.default_branch}`}; see docs/report.md.`,
  );
  out.push('');
  const right: Align[] = ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'];
  const headers = [
    'week',
    'deploys',
    'per day',
    'lead time h (p50)',
    'change fail rate',
    'restore h (p50)',
    'runs',
    'failures',
  ];
  const rows = dora.weeks.map((w) => [
    w.week_start,
    String(w.deployments),
    num(w.deployment_frequency_per_day, 2),
    num(w.lead_time_hours_p50),
    w.changes ? `${pct(w.change_failure_rate)} (${w.failed_changes}/${w.changes})` : '–',
    num(w.time_to_restore_hours_p50),
    String(w.runs),
    String(w.failures),
  ]);
  rows.push([
    'total',
    String(t.deployments),
    num(t.deployment_frequency_per_day, 2),
    num(t.lead_time_hours_p50),
    t.changes ? `${pct(t.change_failure_rate)} (${t.failed_changes}/${t.changes})` : '–',
    num(t.time_to_restore_hours_p50),
    String(t.runs),
    String(t.failures),
  ]);
  out.push(formatTable(headers, rows, right));
  for (const o of t.open_incidents)
    out.push(`! ${o.workflow} on ${dora.default_branch} has been failing since ${o.since}`);
  out.push('');
  out.push('Flaky runs (an attempt failed, a re-run of the same commit passed):');
  if (flaky.workflows.length === 0) out.push('  no finished runs');
  else
    out.push(
      formatTable(
        ['workflow', 'runs', 're-run', 'flaky', 'flaky rate'],
        flaky.workflows.map((w) => [
          w.workflow,
          String(w.runs),
          String(w.rerun_runs),
          String(w.flaky_runs),
          pct(w.flaky_rate),
        ]),
        ['left', 'right', 'right', 'right', 'right'],
      ),
    );
  const limit = opts.flakyLimit ?? 10;
  if (flaky.flaky.length > 0) {
    out.push('');
    out.push(`Most recent flaky runs (${Math.min(limit, flaky.flaky.length)} of ${flaky.flaky.length}):`);
    const recent = flaky.flaky.slice(-limit).reverse();
    out.push(
      formatTable(
        ['created', 'workflow', 'run', 'branch', 'sha', 'failed → passed'],
        recent.map((f) => [
          f.created_at.slice(0, 16).replace('T', ' '),
          f.workflow,
          f.run_id,
          f.head_branch ?? '–',
          (f.head_sha ?? '–').slice(0, 7),
          `#${f.failed_attempt} → #${f.passed_attempt}`,
        ]),
      ),
    );
  }
  return out.join('\n');
}
