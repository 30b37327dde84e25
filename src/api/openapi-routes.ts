/**
 * The OpenAPI contributions of every router `riskgate serve` mounts beyond the core API: each router
 * module documents its own routes (canaryOpenApi, modelsOpenApi, reportOpenApi) next to them; this only
 * merges them. The dashboard (`/`, `/ui/...`, `/ui/api/*`) is deliberately left out: its data calls are the
 * page's internal API (the document's description says so).
 */
import { canaryOpenApi } from '../canary/router.ts';
import { modelsOpenApi } from '../registry/router.ts';
import { reportOpenApi } from '../report/router.ts';
import { mergeOpenApi, type OpenApiExtras } from './openapi.ts';

export function routeOpenApi(...more: OpenApiExtras[]): OpenApiExtras {
  return mergeOpenApi(...more, canaryOpenApi(), modelsOpenApi(), reportOpenApi());
}
