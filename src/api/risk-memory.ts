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
