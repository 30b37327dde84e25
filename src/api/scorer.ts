import { HttpError } from './errors.ts';
import type { RiskRequest, RiskScorer, ScoreResult } from './types.ts';

/**
 * Lets the server listen (and answer /live, /ready) before the model is loaded: until `set` is called
 * `ready()` is false and risk requests get 503 not_ready with Retry-After.
 */
export class DeferredScorer implements RiskScorer {
  private inner: RiskScorer | null = null;

  set(scorer: RiskScorer): void {
    this.inner = scorer;
  }

  get current(): RiskScorer | null {
    return this.inner;
  }

  score(req: RiskRequest): Promise<ScoreResult> {
    if (!this.inner)
      return Promise.reject(
        new HttpError(503, 'not_ready', 'the model is still loading; retry shortly', undefined, { 'Retry-After': '2' }),
      );
    return this.inner.score(req);
  }

  ready(): boolean {
    return this.inner?.ready() ?? false;
  }

  info() {
    return this.inner?.info() ?? null;
  }
}
