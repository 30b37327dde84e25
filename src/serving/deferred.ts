import { Refusal } from '../errors.ts';
import type { ScoreRequest, Scorer, ScoreResult } from './types.ts';

/**
 * Lets the server listen (and answer /live, /ready) before the model is loaded: until `set` is called
 * `ready()` is false and risk requests are refused as not_ready (503 with Retry-After).
 */
export class DeferredScorer implements Scorer {
  private inner: Scorer | null = null;

  set(scorer: Scorer): void {
    this.inner = scorer;
  }

  get current(): Scorer | null {
    return this.inner;
  }

  score(req: ScoreRequest): Promise<ScoreResult> {
    if (!this.inner)
      return Promise.reject(
        new Refusal('not_ready', 'not_ready', 'the model is still loading; retry shortly', undefined, 2),
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
