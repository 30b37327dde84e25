/** One function per page: fetch its data, return its content. Links are plain <a href> (the router intercepts them). */
import type { CanaryDecisionView, JobView, RiskRow, Waterfall, WeeklyFailureRate } from '../data.ts';
import type { ModelEvaluation } from '../model-eval.ts';
import type { DoraReport } from '../../report/dora.ts';
import { api } from './api.ts';
import { featureLabel, featureValue } from '../labels.ts';
import { barChart, confusionMatrix, lineChart, stepChart, waterfallChart } from './charts.ts';
import { badge, card, duration, empty, fix, h, int, pct, sig, stat, table, when } from './dom.ts';

interface ModelSummary {
  id: string;
  kind: string;
  status: string;
  created_at: string;
  threshold: number | null;
  metrics: Record<string, number>;
  data_range: { from: string | null; to: string | null; rows: number };
}

export interface Page {
  title: string;
  content: HTMLElement[];
}

const levelTone = (l: string | null) =>
  l === 'high' ? 'bad' : l === 'medium' ? 'warn' : l === 'low' ? 'ok' : 'neutral';

function outcomeBadge(outcome: string | null, failed: 0 | 1 | null): HTMLElement {
  if (!outcome) return badge('pending', 'neutral');
  return badge(outcome.replace(/_/g, ' '), failed === 1 ? 'bad' : failed === 0 ? 'ok' : 'neutral');
}

const shortSha = (sha: string | null) => (sha ? sha.slice(0, 8) : '–');

function modelLine(m: ModelSummary | null, role: string): HTMLElement {
  if (!m) return stat(role, 'none', role === 'Champion' ? 'train one with `riskgate train`' : 'no challenger waiting');
  return stat(role, m.kind, `${m.id} · PR-AUC ${fix(m.metrics.pr_auc)}`);
}

export async function overviewPage(): Promise<Page> {
  const d = await api<{
    repos: string[];
    runs: number;
    risk_checks: RiskRow[];
    failure_rate: WeeklyFailureRate;
    champion: ModelSummary | null;
    challenger: ModelSummary | null;
  }>('overview', { limit: 50 });
  const checked = d.risk_checks.filter((r) => r.failed !== null);
  const flaggedFailures = checked.filter(
    (r) => r.failed === 1 && (r.risk_level === 'high' || r.risk_level === 'medium'),
  ).length;
  const failures = checked.filter((r) => r.failed === 1).length;
  const weeks = d.failure_rate.weeks;
  const wx = weekAxis(weeks);
  const stats = h(
    'div',
    { class: 'stats' },
    stat('Runs stored', int(d.runs), `${d.repos.length} repos`),
    stat('Recent risk checks', int(d.risk_checks.length), `${checked.length} with a known outcome`),
    stat(
      'Failures flagged',
      failures ? `${flaggedFailures} / ${failures}` : '–',
      'medium or high risk before a failed run',
    ),
    modelLine(d.champion, 'Champion'),
    modelLine(d.challenger, 'Challenger'),
  );
  const chart = weeks.length
    ? lineChart({
        title: 'Failure rate per week',
        desc: `Weekly share of failed runs over ${weeks.length} weeks, ${d.failure_rate.series.map((s) => s.repo).join(', ')}`,
        x: { min: 0, max: wx.span, label: 'week starting (UTC Monday)', ticks: wx.ticks },
        xTickLabels: wx.label,
        y: {
          min: 0,
          max: Math.max(
            0.1,
            Math.ceil(
              Math.max(...d.failure_rate.series.flatMap((s) => s.rate.filter((r): r is number => r !== null))) * 10,
            ) / 10,
          ),
          label: 'failure rate',
          format: (v) => `${Math.round(v * 100)} %`,
        },
        series: d.failure_rate.series.map((s) => {
          const g = wx.withGaps(
            s.rate,
            weeks.map((w, i) => `${s.repo}, week of ${w}: ${pct(s.rate[i])} of ${s.runs[i]} runs`),
          );
          return { name: s.repo, xs: g.xs, ys: g.ys, dots: weeks.length <= 30, labels: g.labels };
        }),
        caption: 'Failed runs (failure, timed out, startup failure) among runs with a success or failure outcome.',
        wide: true,
      })
    : empty('No finished runs stored yet.');
  const rows = d.risk_checks.map((r) => [
    h('time', { datetime: r.at }, when(r.at)),
    r.repo,
    h('code', null, shortSha(r.head_sha)),
    h(
      'span',
      { class: 'prob' },
      h('meter', { min: 0, max: 1, low: 0.3, high: 0.7, optimum: 0, value: r.probability, 'aria-hidden': 'true' }),
      pct(r.probability),
    ),
    badge(r.risk_level ?? 'unknown', levelTone(r.risk_level)),
    outcomeBadge(r.outcome, r.failed),
    h(
      'a',
      { href: `/ui/risk/${r.id}`, 'aria-label': `Details of the risk check for ${r.repo} ${shortSha(r.head_sha)}` },
      'Details',
    ),
  ]);
  return {
    title: 'Overview',
    content: [
      stats,
      card('Failure rate over time', chart),
      card(
        'Recent risk checks',
        rows.length
          ? table(
              'Latest risk checks, newest first, with the outcome of the run once it finished',
              ['Checked', 'Repo', 'Commit', 'Probability', 'Risk', 'Outcome', ''],
              rows,
              { numeric: [3] },
            )
          : empty('No risk checks recorded yet. They appear here as CI calls POST /v1/risk.'),
      ),
    ],
  };
}

const WEEK_MS = 7 * 86_400_000;

/**
 * A time axis over weeks: x is weeks since the first one, so a gap in the history (88 weeks between a
 * sample and new runs) is drawn as a gap, not as the next step; tick labels carry the year on the first
 * tick and wherever it changes (they used to drop it).
 */
function weekAxis(weeks: string[]): {
  x: number[];
  span: number;
  ticks: number[];
  label: (v: number) => string;
  withGaps: (ys: (number | null)[], labels: string[]) => { xs: number[]; ys: (number | null)[]; labels: string[] };
} {
  const t0 = Date.parse(weeks[0] ?? '');
  const x = weeks.map((w) => Math.round((Date.parse(w) - t0) / WEEK_MS));
  const span = Math.max(1, x[x.length - 1] ?? 0);
  const ticks = tickIdx(span + 1, 6);
  const dateAt = (o: number) => (Number.isFinite(t0) ? new Date(t0 + o * WEEK_MS).toISOString().slice(0, 10) : '');
  const label = (v: number) => {
    const i = ticks.indexOf(v);
    const d = dateAt(v);
    const prev = i > 0 ? dateAt(ticks[i - 1]) : null;
    return prev === null || prev.slice(0, 4) !== d.slice(0, 4) ? d : d.slice(5);
  };
  // A null between two weeks more than one apart breaks the line there.
  const withGaps = (ys: (number | null)[], labels: string[]) => {
    const out = { xs: [] as number[], ys: [] as (number | null)[], labels: [] as string[] };
    x.forEach((xi, j) => {
      if (j > 0 && xi - x[j - 1] > 1) {
        out.xs.push(x[j - 1] + 1);
        out.ys.push(null);
        out.labels.push('');
      }
      out.xs.push(xi);
      out.ys.push(ys[j] ?? null);
      out.labels.push(labels[j] ?? '');
    });
    return out;
  };
  return { x, span, ticks, label, withGaps };
}

function tickIdx(n: number, want: number): number[] {
  if (n <= 1) return [0];
  const step = Math.max(1, Math.ceil((n - 1) / (want - 1)));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  return out;
}

export async function modelPage(): Promise<Page> {
  const d = await api<{
    champion:
      | (ModelSummary & {
          decision: { reason?: string; comparison?: Record<string, number | string>[] } | null;
          features: number;
        })
      | null;
    challenger: ModelSummary | null;
    models: (ModelSummary | null)[];
    evaluation: ModelEvaluation | null;
    evaluation_error: string | null;
    backtest: {
      model?: string;
      mean?: Record<string, number>;
      baselineMean?: Record<string, number>;
      repos?: { repo: string; test_runs: number; failure_rate: number; f1: number; pr_auc: number; roc_auc: number }[];
    } | null;
  }>('model');
  if (!d.champion)
    return {
      title: 'Model',
      content: [card('No champion', empty('No model is registered as champion yet. Train one with `riskgate train`.'))],
    };
  const c = d.champion;
  const m = c.metrics;
  const content: HTMLElement[] = [
    h(
      'div',
      { class: 'stats' },
      stat('Champion', c.kind, c.id),
      stat('ROC-AUC', fix(m.roc_auc), 'holdout at training'),
      stat('PR-AUC', fix(m.pr_auc), 'holdout at training'),
      stat('F1 (fail)', fix(m.f1), `threshold ${fix(c.threshold)}`),
      stat('Brier', fix(m.brier, 4), 'lower is better'),
      stat(
        'Trained on',
        int(c.data_range.rows),
        `${when(c.data_range.from).slice(0, 10)} → ${when(c.data_range.to).slice(0, 10)}`,
      ),
    ),
  ];
  const comparison = c.decision?.comparison ?? [];
  if (comparison.length) {
    content.push(
      card(
        'Candidates at training',
        h('p', { class: 'muted' }, c.decision?.reason ?? ''),
        table(
          'Every candidate trained with the champion, scored on the same holdout',
          ['Model', 'ROC-AUC', 'PR-AUC', 'F1', 'Brier', 'Train time'],
          comparison.map((x) => [
            x.kind === c.kind ? h('strong', null, `${x.kind} (champion)`) : String(x.kind),
            fix(x.roc_auc as number),
            fix(x.pr_auc as number),
            fix(x.f1 as number),
            fix(x.brier as number, 4),
            duration(x.train_ms as number),
          ]),
          { numeric: [1, 2, 3, 4, 5] },
        ),
      ),
    );
  }
  const e = d.evaluation;
  if (e) {
    const range = `${e.rows} most recent finished runs (${when(e.from).slice(0, 10)} → ${when(e.to).slice(0, 10)}), ${e.positives} failures`;
    content.push(
      h(
        'div',
        { class: 'grid-2' },
        card(
          'ROC curve',
          e.roc.fpr.length
            ? lineChart({
                title: 'ROC curve',
                desc: `ROC-AUC ${fix(e.roc.auc)}`,
                x: { min: 0, max: 1, label: 'false positive rate' },
                y: { min: 0, max: 1, label: 'true positive rate' },
                series: [{ name: d.champion.kind, xs: e.roc.fpr, ys: e.roc.tpr }],
                diagonal: true,
                caption: `AUC ${fix(e.roc.auc)} on the ${range}.`,
              })
            : empty('Needs both failures and successes in the evaluation window.'),
        ),
        card(
          'Precision–recall curve',
          e.pr.recall.length
            ? lineChart({
                title: 'Precision-recall curve',
                desc: `PR-AUC ${fix(e.pr.auc)}`,
                x: { min: 0, max: 1, label: 'recall' },
                y: { min: 0, max: 1, label: 'precision' },
                series: [{ name: d.champion.kind, xs: e.pr.recall, ys: e.pr.precision }],
                caption: `AUC ${fix(e.pr.auc)}; a random model scores the failure rate, ${pct(e.pr.base_rate)}.`,
              })
            : empty('No failures in the evaluation window.'),
        ),
        card(
          'Calibration',
          lineChart({
            title: 'Calibration plot',
            desc: 'Observed failure rate against mean predicted probability per bin',
            x: { min: 0, max: 1, label: 'mean predicted probability' },
            y: { min: 0, max: 1, label: 'observed failure rate' },
            series: [
              {
                name: 'observed',
                xs: e.calibration.mean_predicted,
                ys: e.calibration.observed,
                dots: true,
                labels: e.calibration.count.map(
                  (n, i) =>
                    `${n} runs: predicted ${pct(e.calibration.mean_predicted[i])}, observed ${pct(e.calibration.observed[i])}`,
                ),
              },
            ],
            diagonal: true,
            caption: 'Points on the diagonal mean the probabilities can be read at face value.',
          }),
        ),
        card(
          'Confusion matrix',
          e.confusion
            ? confusionMatrix(
                e.confusion,
                `At the decision threshold ${fix(e.threshold)}; precision ${pct(e.confusion.tp / Math.max(1, e.confusion.tp + e.confusion.fp))}, recall ${pct(e.confusion.tp / Math.max(1, e.confusion.tp + e.confusion.fn))}.`,
              )
            : empty('The model never alarms (no finite threshold).'),
        ),
      ),
    );
    content.push(
      card(
        'Feature importance',
        e.importance.length
          ? barChart({
              title: 'Feature importance',
              desc: `Top ${e.importance.length} features by gain`,
              items: e.importance.map((f) => ({ label: featureLabel(f.feature), value: f.gain })),
              format: (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3)),
              caption: 'Total gain of the splits on each feature (the model’s own measure).',
            })
          : empty('This model kind reports no importance.'),
      ),
    );
  } else if (d.evaluation_error) {
    content.push(
      card(
        'Evaluation',
        h('p', { class: 'error', role: 'alert' }, `Could not evaluate the champion: ${d.evaluation_error}`),
      ),
    );
  }
  const bt = d.backtest;
  if (bt && Array.isArray(bt.repos)) {
    content.push(
      card(
        'Backtest',
        h(
          'p',
          { class: 'muted' },
          `Model ${bt.model ?? '?'}: mean F1 ${fix(bt.mean?.f1)}, PR-AUC ${fix(bt.mean?.pr_auc)} (baseline F1 ${fix(bt.baselineMean?.f1)}, PR-AUC ${fix(bt.baselineMean?.pr_auc)}).`,
        ),
        table(
          'Per-repo backtest of the last stored run',
          ['Repo', 'Test runs', 'Failure rate', 'F1', 'PR-AUC', 'ROC-AUC'],
          bt.repos.map((r) => [
            r.repo,
            int(r.test_runs),
            pct(r.failure_rate),
            fix(r.f1),
            fix(r.pr_auc),
            fix(r.roc_auc),
          ]),
          { numeric: [1, 2, 3, 4, 5] },
        ),
      ),
    );
  }
  const models = d.models.filter((x): x is ModelSummary => x !== null);
  content.push(
    card(
      'Registered models',
      table(
        'All registered model versions, newest first',
        ['Id', 'Kind', 'Status', 'Created', 'PR-AUC'],
        models.map((x) => [
          h('code', null, x.id),
          x.kind,
          badge(x.status, x.status === 'champion' ? 'ok' : x.status === 'rejected' ? 'bad' : 'neutral'),
          when(x.created_at),
          fix(x.metrics.pr_auc),
        ]),
        { numeric: [4] },
      ),
    ),
  );
  return { title: 'Model', content };
}

export async function riskPage(id: string): Promise<Page> {
  const d = await api<
    RiskRow & {
      factors: { feature: string; value: number | null; contribution: number }[];
      waterfall: Waterfall | null;
    }
  >(`risk/${encodeURIComponent(id)}`);
  const unit = d.waterfall?.space === 'probability' ? 'probability' : 'log-odds';
  return {
    title: `Risk check ${d.repo} ${shortSha(d.head_sha)}`,
    content: [
      h(
        'div',
        { class: 'stats' },
        stat('Repo', d.repo, d.head_sha ? `commit ${shortSha(d.head_sha)}` : undefined),
        stat('Failure probability', pct(d.probability)),
        h(
          'div',
          { class: 'stat' },
          h('div', { class: 'stat-label' }, 'Risk level'),
          h('div', { class: 'stat-value' }, badge(d.risk_level ?? 'unknown', levelTone(d.risk_level))),
        ),
        h(
          'div',
          { class: 'stat' },
          h('div', { class: 'stat-label' }, 'Outcome'),
          h('div', { class: 'stat-value' }, outcomeBadge(d.outcome, d.failed)),
        ),
        stat('Checked', when(d.at), d.model ? `model ${d.model}` : undefined),
      ),
      card(
        'Why this score',
        d.waterfall && d.waterfall.steps.length > 2
          ? waterfallChart(
              d.waterfall.steps,
              unit,
              () => pct(d.probability),
              unit === 'log-odds'
                ? 'Contributions add up in log-odds; the final bar is the calibrated probability in log-odds.'
                : 'Contributions in probability units.',
            )
          : empty('This check recorded no factors.'),
      ),
      card(
        'Factors',
        d.factors.length
          ? table(
              'Features that moved the score most',
              ['Feature', 'Value', `Contribution (${unit})`],
              d.factors.map((f) => [
                h('span', { title: f.feature }, featureLabel(f.feature)),
                featureValue(f.feature, f.value),
                h(
                  'span',
                  { class: f.contribution >= 0 ? 'up' : 'down' },
                  `${f.contribution >= 0 ? '+' : '−'}${Math.abs(f.contribution).toFixed(3)}`,
                ),
              ]),
              { numeric: [1, 2] },
            )
          : empty('No factors recorded.'),
      ),
      h('p', null, h('a', { href: '/ui' }, '← Back to the overview')),
    ],
  };
}

export async function canaryPage(params: URLSearchParams): Promise<Page> {
  const all = await api<{
    services: string[];
    decisions: CanaryDecisionView[];
    outcomes?: { service: string; version: string | null; outcome: string | null; at: string }[];
  }>('canary', { limit: 2000 });
  if (!all.services.length)
    return { title: 'Canary', content: [card('Canary rollouts', empty('No canary decisions recorded yet.'))] };
  const service =
    params.get('service') && all.services.includes(params.get('service')!) ? params.get('service')! : all.services[0];
  const decisions = all.decisions.filter((x) => x.service === service);
  const last = decisions[decisions.length - 1];
  const picker = h(
    'form',
    { class: 'toolbar', method: 'get', action: '/ui/canary' },
    h('label', { for: 'service' }, 'Service'),
    h(
      'select',
      { id: 'service', name: 'service', onchange: (e: Event) => (e.target as HTMLSelectElement).form?.requestSubmit() },
      all.services.map((sv) => h('option', { value: sv, selected: sv === service }, sv)),
    ),
    h('button', { type: 'submit' }, 'Show'),
  );
  const points = decisions.map((x) => ({
    t: Date.parse(x.at),
    weight: x.weight,
    action: x.action,
    version: x.version,
    label: `${x.version ? `${x.version}, ` : ''}${when(x.at)}: ${x.action} → ${x.weight} %${x.reasons.length ? ` — ${x.reasons.join('; ')}` : ''}`,
  }));
  // Per version: the recorded outcome (POST /v1/canary/outcome) if any, else how its last decision ended.
  const versions = [...new Set(decisions.map((x) => x.version ?? '(no version)'))];
  const outcomeRows = versions.map((v) => {
    const own = decisions.filter((x) => (x.version ?? '(no version)') === v);
    const lastOwn = own[own.length - 1];
    const recorded = (all.outcomes ?? []).find((o) => o.service === service && (o.version ?? '(no version)') === v);
    const ended =
      recorded?.outcome ??
      (lastOwn.action === 'promote'
        ? 'promoted'
        : lastOwn.action === 'rollback'
          ? 'rolled back'
          : `in progress at ${lastOwn.weight} %`);
    const tone = /promot/.test(ended) ? 'ok' : /roll|incident/.test(ended) ? 'bad' : 'info';
    return [
      v,
      badge(ended, tone),
      recorded ? `recorded ${when(recorded.at)}` : `last decision ${when(lastOwn.at)}`,
      int(own.length),
    ];
  });
  const rows = [...decisions].reverse().map((x) => [
    h('time', { datetime: x.at }, when(x.at)),
    x.version ?? '–',
    h('span', { class: 'nowrap' }, `${x.from_weight ?? '?'} → ${x.weight} %`),
    badge(
      x.action,
      x.action === 'rollback' ? 'bad' : x.action === 'promote' ? 'ok' : x.action === 'hold' ? 'warn' : 'info',
    ),
    x.score === null ? '–' : `${fix(x.score, 0)}${x.verdict ? ` (${x.verdict})` : ''}`,
    x.metrics.length
      ? h(
          'ul',
          { class: 'plain' },
          x.metrics.map((mm) =>
            h(
              'li',
              null,
              h('strong', null, mm.name),
              `: canary ${sig(mm.canary)} vs baseline ${sig(mm.baseline)}`,
              mm.classification ? ` (${mm.classification})` : '',
            ),
          ),
        )
      : '–',
    x.reasons.length
      ? h(
          'ul',
          { class: 'plain' },
          x.reasons.map((r) => h('li', null, r)),
        )
      : '–',
  ]);
  return {
    title: `Canary ${service}`,
    content: [
      picker,
      h(
        'div',
        { class: 'stats' },
        stat('Service', service, last?.version ? `version ${last.version}` : undefined),
        stat('Current weight', `${last?.weight ?? 0} %`),
        stat('Last decision', last?.action ?? '–', last ? when(last.at) : undefined),
        stat('Decisions', int(decisions.length)),
      ),
      card(
        'Traffic weight over time',
        stepChart(
          `Canary weight of ${service}`,
          points,
          'One line per version; each marker is one decision, hover it for the reasons.',
        ),
      ),
      card(
        'Outcome per version',
        table(`How each version of ${service} ended`, ['Version', 'Outcome', 'When', 'Decisions'], outcomeRows, {
          numeric: [3],
        }),
      ),
      card(
        'Decision log',
        table(
          `Decisions for ${service}, newest first, with the metrics that drove them`,
          ['Decided', 'Version', 'Weight', 'Action', 'Score', 'Canary vs baseline', 'Reasons'],
          rows,
          { className: 'wide' },
        ),
      ),
    ],
  };
}

export async function jobsPage(): Promise<Page> {
  const d = await api<{
    schedule: { job: string; cron: string; source: string; variable: string; help: string }[];
    summary: { job: string; last_at: string; last_result: string; runs: number; ok: number; p50_ms: number | null }[];
    runs: JobView[];
  }>('jobs', { limit: 200 });
  const tone = (r: string) => (r === 'ok' || r === 'success' ? 'ok' : r === 'skipped' ? 'neutral' : 'bad');
  return {
    title: 'Jobs',
    content: [
      card(
        'Schedule',
        table(
          'Scheduled jobs (cron, server time zone)',
          ['Job', 'Cron', 'Set by', 'What it does'],
          d.schedule.map((x) => [
            x.job,
            h('code', null, x.cron),
            x.source === 'env' ? h('code', null, x.variable) : `default (${x.variable})`,
            x.help,
          ]),
        ),
      ),
      card(
        'Status',
        d.summary.length
          ? table(
              'Per job, over the listed runs',
              ['Job', 'Last run', 'Last result', 'Succeeded', 'Median duration'],
              d.summary.map((x) => [
                x.job,
                when(x.last_at),
                badge(x.last_result, tone(x.last_result)),
                `${x.ok} / ${x.runs}`,
                duration(x.p50_ms),
              ]),
              { numeric: [3, 4] },
            )
          : empty('No job has run yet.'),
      ),
      card(
        'Recent runs',
        d.runs.length
          ? table(
              'Job runs, newest first',
              ['Job', 'Started', 'Finished', 'Duration', 'Result', 'Detail'],
              d.runs.map((x) => [
                x.job,
                when(x.started_at),
                when(x.finished_at),
                duration(x.duration_ms),
                badge(x.result, tone(x.result)),
                x.error ? h('span', { class: 'error-text' }, x.error) : (x.detail ?? '–'),
              ]),
              { numeric: [3] },
            )
          : empty('No job runs recorded.'),
      ),
    ],
  };
}

export async function reportsPage(params: URLSearchParams): Promise<Page> {
  const weeks = Number(params.get('weeks') ?? 12) || 12;
  const d = await api<{
    repos: string[];
    repo: string | null;
    dora: DoraReport | null;
    stored: { runs: number; first_run_at: string | null; last_run_at: string | null };
  }>('reports', { repo: params.get('repo') ?? undefined, weeks });
  if (!d.repo || !d.dora)
    return {
      title: 'Reports',
      content: [
        card(
          'DORA report',
          empty(
            'No runs stored yet: import history (`riskgate import FILE`) or ingest it from GitHub (`riskgate ingest --repo OWNER/NAME`).',
          ),
        ),
      ],
    };
  const r = d.dora;
  const t = r.totals;
  const picker = h(
    'form',
    { class: 'toolbar', method: 'get', action: '/ui/reports' },
    h('label', { for: 'repo' }, 'Repo'),
    h(
      'select',
      { id: 'repo', name: 'repo' },
      d.repos.map((x) => h('option', { value: x, selected: x === d.repo }, x)),
    ),
    h('label', { for: 'weeks' }, 'Weeks'),
    h(
      'select',
      { id: 'weeks', name: 'weeks' },
      [4, 8, 12, 26, 52].map((n) => h('option', { value: n, selected: n === weeks }, String(n))),
    ),
    h('button', { type: 'submit' }, 'Show'),
  );
  const ws = r.weeks;
  const rx = weekAxis(ws.map((w) => w.week_start));
  const windowRuns = ws.reduce((a, w) => a + w.runs, 0);
  // Most of the history outside the window (old sample data plus a few new runs): say where it is.
  const outside = d.stored.runs - windowRuns;
  const windowSparse = outside > windowRuns;
  const hours = (x: number | null) => (x === null ? '–' : x < 48 ? `${x.toFixed(1)} h` : `${(x / 24).toFixed(1)} d`);
  return {
    title: `Reports ${d.repo}`,
    content: [
      picker,
      h(
        'div',
        { class: 'stats' },
        stat(
          'Deployments / day',
          fix(t.deployment_frequency_per_day, 2),
          `${int(t.deployments)} deployments (${r.deploy_source === 'workflows' ? 'deploy workflows' : `pushes to ${r.default_branch}`})`,
        ),
        stat('Lead time (median)', hours(t.lead_time_hours_p50)),
        stat('Change failure rate', pct(t.change_failure_rate), `${t.failed_changes} / ${t.changes} changes`),
        stat(
          'Time to restore (median)',
          hours(t.time_to_restore_hours_p50),
          `${t.open_incidents.length} open incidents`,
        ),
      ),
      ...(windowSparse
        ? [
            card(
              'Most runs are outside this window',
              h(
                'p',
                { class: 'empty' },
                `These ${weeks} weeks (the newest weeks with runs) hold ${int(windowRuns)} of the ${int(d.stored.runs)} runs stored for ${d.repo}, which date from ${d.stored.first_run_at?.slice(0, 10) ?? '?'} to ${d.stored.last_run_at?.slice(0, 10) ?? '?'}. `,
                h('a', { href: `/ui/reports?repo=${encodeURIComponent(d.repo)}&weeks=520` }, 'Show up to 520 weeks'),
                ', or bring recent history in with `riskgate ingest` or `riskgate import`.',
              ),
            ),
          ]
        : []),
      card(
        'Change failure rate and run failure rate per week',
        ws.length
          ? lineChart({
              title: 'Change failure rate per week',
              desc: `Weekly change failure rate of ${d.repo}`,
              x: { min: 0, max: Math.max(1, ws.length - 1), label: 'week starting', ticks: rx.ticks },
              xTickLabels: rx.label,
              y: { min: 0, max: 1, label: 'rate', format: (v) => `${Math.round(v * 100)} %` },
              series: [
                {
                  name: 'change failure rate',
                  xs: ws.map((_, i) => i),
                  ys: ws.map((w) => w.change_failure_rate),
                  dots: true,
                  labels: ws.map((w) => `week of ${w.week_start}: ${pct(w.change_failure_rate)}`),
                },
                {
                  name: 'run failure rate',
                  xs: ws.map((_, i) => i),
                  ys: ws.map((w) => (w.runs ? w.failures / w.runs : null)),
                  dots: true,
                  labels: ws.map((w) => `week of ${w.week_start}: ${w.failures}/${w.runs} runs failed`),
                },
              ],
              wide: true,
            })
          : empty('No weeks in range.'),
      ),
      card(
        'Weekly figures',
        table(
          `DORA figures per week for ${d.repo} (${r.timezone})`,
          ['Week', 'Deploys', 'Deploys/day', 'Lead time p50', 'CFR', 'Restore p50', 'Runs', 'Failed'],
          [...ws]
            .reverse()
            .map((w) => [
              w.week_start.slice(0, 10),
              int(w.deployments),
              fix(w.deployment_frequency_per_day, 2),
              hours(w.lead_time_hours_p50),
              pct(w.change_failure_rate),
              hours(w.time_to_restore_hours_p50),
              int(w.runs),
              int(w.failures),
            ]),
          { numeric: [1, 2, 3, 4, 5, 6, 7] },
        ),
      ),
    ],
  };
}
