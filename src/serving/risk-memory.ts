/**
 * The latest risk answered per commit (repo + head_sha), bounded, in memory. The canary router asks it for
 * a rollout's pre-build risk; a miss simply means "unknown" and the canary uses its prior.
 */
export class RiskMemory {
  private readonly map = new Map<string, number>();
  constructor(private readonly capacity = 10_000) {}

  remember(repo: string, headSha: string | null, probability: number): void {
    if (!headSha) return;
    const k = `${repo}@${headSha}`;
    this.map.delete(k);
    this.map.set(k, probability);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  lookup(repo: string, headSha: string): number | undefined {
    return this.map.get(`${repo}@${headSha}`);
  }
}

const RISK_SHARE = 'riskgate:risk-memory';
type RiskShare = { type: typeof RISK_SHARE; entries: [repo: string, sha: string, probability: number][] };
export const isRiskShare = (m: unknown): m is RiskShare =>
  (m as RiskShare | null)?.type === RISK_SHARE && Array.isArray((m as RiskShare).entries);

/**
 * In a cluster worker: risk answers are also sent (batched) through the primary to the other workers, so a
 * canary decision that reaches another worker than the commit's /v1/risk still finds its predicted risk.
 */
export class SharedRiskMemory extends RiskMemory {
  private pending: RiskShare['entries'] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor() {
    super();
    process.on('message', (m: unknown) => {
      if (isRiskShare(m)) for (const [repo, sha, p] of m.entries) super.remember(repo, sha, p);
    });
  }

  override remember(repo: string, headSha: string | null, probability: number): void {
    super.remember(repo, headSha, probability);
    if (!headSha) return;
    this.pending.push([repo, headSha, probability]);
    this.timer ??= setTimeout(() => this.flush(), 50).unref();
  }

  private flush(): void {
    this.timer = null;
    const entries = this.pending;
    this.pending = [];
    if (process.connected) process.send?.({ type: RISK_SHARE, entries } satisfies RiskShare);
  }
}
