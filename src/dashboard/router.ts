/**
 * The operator dashboard: a single-page app (bundled in memory on first request) and the JSON it draws,
 * read straight from the store and the model registry so it does not depend on other routes' shapes.
 *
 * The static shell is public (it holds no data); every `/ui/api/*` data call needs the `score` scope.
 */
import type { SchedulerConfig } from '../config/background.ts';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { sendError } from '../api/errors.ts';
import { mergeOpenApi, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes } from '../api/route.ts';
import { Registry, type Manifest } from '../registry/registry.ts';
import { computeDora } from '../report/dora.ts';
import type { Store } from '../store/types.ts';
import { getBundle } from './bundle.ts';
import { maySeeRollout, type Tenant } from '../tenancy.ts';
import { SIMULATED_SERVICE_PREFIX } from '../canary/policies.ts';
import {
  canaryDecisions,
  jobRuns,
  jobSummary,
  joinOutcomes,
  riskEventId,
  riskRow,
  schedule,
  summariseRuns,
  waterfall,
} from './data.ts';
import { EvaluationCache, evaluateModel } from './model-eval.ts';
import { RISK_EVENT } from '../serving/risk-log.ts';
import type { RunRecord } from '../records/schema.ts';

export interface DashboardDeps {
  store: Store;
  modelsDir: string;
  /** Replaces the scope check (default: the API's requireScope); every data call has one. */
  requireScope?: (s: 'score' | 'report' | 'admin') => RequestHandler;
  /** Whether data calls need a bearer token (tells the page to ask for a key). Default true. */
  authRequired?: boolean;
  /** IANA zone for features and weeks (RISKGATE_TIMEZONE). Default UTC. */
  timezone?: string;
  /** The job schedule the scheduler runs (serve passes its settings; the Jobs page shows it). */
  cron: SchedulerConfig['cron'];
}

/** Event kinds the dashboard reads. */
export const EVENT_KINDS = { risk: RISK_EVENT, canary: ['canary', 'canary_decision'], job: 'job' } as const;

// The app's global CSP forbids everything (it is an API); the dashboard shell needs its own same-origin assets.
const SHELL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);
const OverviewQuery = z.strictObject({ limit: limit(500, 50) });
const CanaryQuery = z.strictObject({ service: z.string().min(1).max(200).optional(), limit: limit(5000, 500) });
const JobsQuery = z.strictObject({ limit: limit(5000, 200) });
const ReportsQuery = z.strictObject({
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"')
    .optional(),
  weeks: limit(520, 12),
});
const RiskId = z.string().regex(/^[0-9a-f]{16}$/, 'must be a 16-character hex id');

function shellHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Riskgate dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/app.${version}.css">
<script src="/ui/assets/app.${version}.js" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<div id="app"><main id="main" tabindex="-1"><p class="loading">Loading…</p></main></div>
<noscript><p>The Riskgate dashboard needs JavaScript.</p></noscript>
</body>
</html>
`;
}

function modelSummary(m: Manifest | undefined) {
  if (!m) return null;
  return {
    id: m.id,
    kind: m.kind,
    status: m.status,
    created_at: m.created_at,
    threshold: m.threshold,
    metrics: m.metrics,
    data_range: m.data_range,
  };
}

/** The dashboard's routes. None is in /openapi.json: the data calls are the page's internal API. */
export const DASHBOARD_ROUTES = routes({
  // The static shell is anonymous by design (it holds no data) …
  shell: { method: 'get', path: '/', scope: 'public', doc: false },
  assets: { method: 'get', path: /^\/ui\/assets\/app\.([0-9a-f]{12})\.(js|css)$/, scope: 'public', doc: false },
  // … and so is whether the page must ask for a key; every data call needs `score`.
  session: { method: 'get', path: '/ui/api/session', scope: 'public', doc: false },
  overview: { method: 'get', path: '/ui/api/overview', scope: 'score', query: OverviewQuery, doc: false },
  model: { method: 'get', path: '/ui/api/model', scope: 'score', doc: false },
  risk: { method: 'get', path: '/ui/api/risk/:id', scope: 'score', params: { id: RiskId }, doc: false },
  canary: { method: 'get', path: '/ui/api/canary', scope: 'score', query: CanaryQuery, doc: false },
  jobs: { method: 'get', path: '/ui/api/jobs', scope: 'score', query: JobsQuery, doc: false },
  reports: { method: 'get', path: '/ui/api/reports', scope: 'score', query: ReportsQuery, doc: false },
});

/** Client-side routes: every /ui/... page is the same shell; the script picks the page from the path. */
const PAGE_ROUTES = routes({
  pages: { method: 'get', path: /^\/ui(\/.*)?$/, scope: 'public', doc: false },
});

/** The dashboard's part of /openapi.json: nothing (the document's description says why). */
export function dashboardOpenApi(): OpenApiExtras {
  return mergeOpenApi(describeRoutes(DASHBOARD_ROUTES), describeRoutes(PAGE_ROUTES));
}

export function createDashboardRouter(deps: DashboardDeps): Router {
  const { store } = deps;
  const registry = new Registry(deps.modelsDir);
  const evaluations = new EvaluationCache();
  const timezone = deps.timezone ?? 'UTC';
  const router = express.Router();

  const champion = (): { champion: Manifest | undefined; challenger: Manifest | undefined; all: Manifest[] } => {
    const all = registry.list();
    const id = registry.championId();
    const champ = id ? all.find((m) => m.id === id) : undefined;
    const challenger = [...all].reverse().find((m) => m.status === 'challenger' && m.id !== id);
    return { champion: champ, challenger, all };
  };

  const sendShell = async (_req: Request, res: Response): Promise<void> => {
    const b = await getBundle();
    res.setHeader('Content-Security-Policy', SHELL_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(shellHtml(b.version));
  };
  const opts = { requireScope: deps.requireScope };

  mountRoutes(
    router,
    DASHBOARD_ROUTES,
    {
      // ---- static shell ----
      shell: sendShell,
      assets: async (req, res) => {
        const b = await getBundle();
        const [version, ext] = [req.params[0], req.params[1]];
        if (version !== b.version) return sendError(res, 404, 'not_found', 'dashboard asset not found (stale version)');
        res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        res.type(ext === 'js' ? 'application/javascript' : 'text/css').send(ext === 'js' ? b.js : b.css);
      },

      // ---- data ----
      session: (_req, res) => {
        res.setHeader('Cache-Control', 'no-store');
        return { auth_required: deps.authRequired ?? true, timezone };
      },

      overview: (_req, res, { query: q }) => {
        const rows = store
          .listEvents(EVENT_KINDS.risk, { limit: q.limit })
          .map(riskRow)
          .filter((r): r is NonNullable<typeof r> => r !== null);
        const { weekly, outcomes } = summariseRuns(store.iterateRuns(), rows);
        const { champion: champ, challenger } = champion();
        res.json({
          repos: store.repos(),
          runs: store.countRuns(),
          risk_checks: joinOutcomes(rows, outcomes),
          failure_rate: weekly,
          champion: modelSummary(champ),
          challenger: modelSummary(challenger),
        });
      },

      model: async (_req, res) => {
        const { champion: champ, challenger, all } = champion();
        const backtestRaw = store.getState('backtest:last');
        let backtest: unknown = null;
        if (backtestRaw) {
          try {
            backtest = JSON.parse(backtestRaw);
          } catch {
            backtest = null; // a damaged state entry must not take the model page down
          }
        }
        if (!champ) {
          return res.json({
            champion: null,
            challenger: modelSummary(challenger),
            models: all.map(modelSummary),
            evaluation: null,
            evaluation_error: null,
            backtest,
          });
        }
        let evaluation = null;
        let evaluationError: string | null = null;
        try {
          evaluation = await evaluations.get(champ.id, () => evaluateModel(store, registry, champ, timezone));
        } catch (e) {
          evaluationError = (e as Error).message;
        }
        res.json({
          champion: { ...modelSummary(champ), decision: champ.decision ?? null, features: champ.features.length },
          challenger: modelSummary(challenger),
          models: all.map(modelSummary).reverse(),
          evaluation,
          evaluation_error: evaluationError,
          backtest,
        });
      },

      risk: (_req, res, { params }) => {
        const id = params.id;
        const ev = store.listEvents(EVENT_KINDS.risk, { limit: 5000 }).find((e) => riskEventId(e) === id);
        const row = ev && riskRow(ev);
        if (!ev || !row) return sendError(res, 404, 'not_found', `no risk check ${id} among the last 5000`);
        const { outcomes } = summariseRuns(store.iterateRuns({ repo: row.repo }), [row]);
        const [joined] = joinOutcomes([row], outcomes);
        res.json({
          ...joined,
          factors: Array.isArray(ev.payload.factors) ? ev.payload.factors : [],
          waterfall: waterfall(ev.payload),
        });
      },

      canary: (_req, res, { query: q }) => {
        // A score key sees only the rollouts it may see (its bound services, else those it owns); report sees all.
        // (`requireScope` has set the principal; only a test's stand-in for it leaves none.)
        const who = res.locals.principal as Tenant | undefined;
        const events = EVENT_KINDS.canary
          .flatMap((kind) => store.listEvents(kind, { key: q.service, limit: q.limit }))
          .filter(
            (e) => !who || maySeeRollout(who, e.key, typeof e.payload.owner === 'string' ? e.payload.owner : undefined),
          );
        // `riskgate simulate-canary --url` rollouts are left out unless asked for by name.
        const all = canaryDecisions(events);
        const decisions = q.service ? all : all.filter((d) => !d.service.startsWith(SIMULATED_SERVICE_PREFIX));
        const services = [...new Set(decisions.map((d) => d.service))].sort();
        // Final outcomes posted to /v1/canary/outcome (promoted, rolled back, incident later), per service and version.
        const outcomes = store
          .listEvents('canary_outcome', { key: q.service, limit: q.limit })
          .filter((e) => services.includes(e.key))
          .map((e) => ({
            service: e.key,
            version: typeof e.payload.version === 'string' ? e.payload.version : null,
            outcome: typeof e.payload.outcome === 'string' ? e.payload.outcome : null,
            at: e.at,
          }));
        res.json({
          services,
          decisions: decisions.slice(-q.limit),
          hidden_simulated: all.length - decisions.length,
          outcomes,
        });
      },

      jobs: (_req, res, { query: q }) => {
        const runs = jobRuns(store.listEvents(EVENT_KINDS.job, { limit: q.limit }));
        res.json({ schedule: schedule(deps.cron), summary: jobSummary(runs), runs });
      },

      reports: (_req, res, { query: q }) => {
        const repos = store.repos();
        const repo = q.repo ?? repos[0];
        if (q.repo && !repos.includes(q.repo)) {
          return sendError(res, 404, 'not_found', `no runs stored for repo "${q.repo}"`, [
            { path: 'query.repo', message: 'unknown repo' },
          ]);
        }
        // The window is the newest N weeks of the repo's runs: history far older (a sample from 2025 and one
        // outcome posted today) leaves it nearly empty, so the page says what is stored and where.
        const stored = { runs: 0, first_run_at: null as string | null, last_run_at: null as string | null };
        const tracked = function* (runs: Iterable<RunRecord>) {
          for (const r of runs) {
            stored.runs++;
            if (stored.first_run_at === null || r.created_at < stored.first_run_at) stored.first_run_at = r.created_at;
            if (stored.last_run_at === null || r.created_at > stored.last_run_at) stored.last_run_at = r.created_at;
            yield r;
          }
        };
        const dora = repo ? computeDora(tracked(store.iterateRuns({ repo })), { weeks: q.weeks, timezone }) : null;
        res.json({ repos, repo: repo ?? null, dora, stored });
      },
    },
    opts,
  );

  router.use('/ui/api', (req, res) =>
    sendError(res, 404, 'not_found', `no dashboard route for ${req.method} ${req.baseUrl}${req.path}`),
  );

  return mountRoutes(router, PAGE_ROUTES, { pages: sendShell }, opts);
}
