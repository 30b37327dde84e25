/**
 * The operator dashboard: a single-page app (bundled in memory on first request) and the JSON it draws
 * (pages.ts reads it from the store and the model registry; this only validates and sends).
 *
 * The static shell is public (it holds no data); every `/ui/api/*` data call needs the `score` scope.
 */
import type { SchedulerConfig } from '../config/background.ts';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { sendError } from '../api/errors.ts';
import { mergeOpenApi, type OpenApiExtras } from '../api/openapi.ts';
import { describeRoutes, mountRoutes, routes } from '../api/route.ts';
import { getBundle } from './bundle.ts';
import type { Store } from '../store/types.ts';
import type { Tenant } from '../tenancy.ts';
import { DashboardPages } from './pages.ts';

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
  const timezone = deps.timezone ?? 'UTC';
  const pages = new DashboardPages({ store: deps.store, modelsDir: deps.modelsDir, timezone, cron: deps.cron });
  const router = express.Router();

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

      overview: (_req, _res, { query: q }) => pages.overview(q.limit),
      model: () => pages.model(),
      risk: (_req, _res, { params }) => pages.risk(params.id),
      // (`requireScope` has set the principal; only a test's stand-in for it leaves none.)
      canary: (_req, res, { query: q }) => pages.canary(res.locals.principal as Tenant | undefined, q),
      jobs: (_req, _res, { query: q }) => pages.jobs(q.limit),
      reports: (_req, _res, { query: q }) => pages.reports(q),
    },
    opts,
  );

  router.use('/ui/api', (req, res) =>
    sendError(res, 404, 'not_found', `no dashboard route for ${req.method} ${req.baseUrl}${req.path}`),
  );

  return mountRoutes(router, PAGE_ROUTES, { pages: sendShell }, opts);
}
