/** The two payload shapes we post: Slack-compatible incoming-webhook JSON and a plain JSON document. */
export type AlertKind =
  'high_score' | 'canary_rollback' | 'retrain_failed' | 'drift' | 'circuit_open' | 'model_refused';
export const ALERT_KINDS: readonly AlertKind[] = [
  'high_score',
  'canary_rollback',
  'retrain_failed',
  'drift',
  'circuit_open',
  'model_refused',
];

export interface AlertFactor {
  feature: string;
  value: number | null;
  contribution: number;
}

export interface Alert {
  kind: AlertKind;
  message: string;
  repo?: string | null;
  head_sha?: string | null;
  score?: number | null;
  factors?: AlertFactor[];
  /** Anything else worth showing (e.g. PSI per feature, the failed job's error). */
  detail?: Record<string, unknown>;
}

const TITLES: Record<AlertKind, string> = {
  high_score: 'High build-failure risk',
  canary_rollback: 'Canary rolled back',
  retrain_failed: 'Model retrain failed',
  drift: 'Input drift detected',
  circuit_open: 'Dependency circuit opened',
  model_refused: 'Champion model refused',
};

export function dashboardLink(base: string | undefined, a: Alert): string | null {
  if (!base) return null;
  const root = base.replace(/\/+$/, '');
  if (a.repo)
    return `${root}/repos/${encodeURIComponent(a.repo)}${a.head_sha ? `?sha=${encodeURIComponent(a.head_sha)}` : ''}`;
  return root;
}

export function jsonPayload(a: Alert, link: string | null, at: string): Record<string, unknown> {
  return {
    kind: a.kind,
    title: TITLES[a.kind],
    message: a.message,
    repo: a.repo ?? null,
    head_sha: a.head_sha ?? null,
    score: a.score ?? null,
    factors: a.factors ?? [],
    link,
    at,
    ...(a.detail ? { detail: a.detail } : {}),
  };
}

// Slack's mrkdwn treats these three characters as control characters; everything else passes through.
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackPayload(a: Alert, link: string | null): Record<string, unknown> {
  const lines = [
    `*${TITLES[a.kind]}*${a.repo ? ` — \`${esc(a.repo)}\`` : ''}${a.head_sha ? ` @ \`${esc(a.head_sha.slice(0, 12))}\`` : ''}`,
    esc(a.message),
  ];
  if (a.score != null) lines.push(`Score: *${(a.score * 100).toFixed(0)} %*`);
  if (a.factors?.length)
    lines.push(
      `Top factors: ${a.factors
        .slice(0, 5)
        .map((f) => `${esc(f.feature)} (${f.contribution >= 0 ? '+' : ''}${f.contribution.toFixed(2)})`)
        .join(', ')}`,
    );
  if (link) lines.push(`<${link}|Open in the dashboard>`);
  const text = lines.join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
