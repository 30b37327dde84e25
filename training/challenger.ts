/**
 * The champion/challenger rule, pure so the retrain job, the live-traffic (shadow) comparison and the replay
 * benchmark all apply exactly the same test. A challenger takes over only when it is clearly better at ranking
 * failures (PR-AUC), not meaningfully worse at the decision threshold (F1), and no worse calibrated (Brier):
 * a model that ranks better but whose probabilities drift would silently change every risk level.
 */
export interface ComparedMetrics {
  pr_auc: number;
  f1: number;
  brier: number;
}

export interface Margins {
  /** The challenger's PR-AUC must exceed the champion's by at least this much. */
  minPrAucGain: number;
  /** The challenger may lose at most this much F1. */
  maxF1Loss: number;
  /** The challenger's Brier score may exceed the champion's by at most this much (noise, not a real loss). */
  brierTolerance: number;
}

export const DEFAULT_MARGINS: Readonly<Margins> = Object.freeze({
  minPrAucGain: 0.005,
  maxF1Loss: 0.01,
  brierTolerance: 0.001,
});

export interface Decision {
  promote: boolean;
  reasons: string[];
  numbers: {
    challenger: ComparedMetrics;
    champion: ComparedMetrics | null;
    pr_auc_gain: number | null;
    f1_change: number | null;
    brier_change: number | null;
    margins: Margins;
  };
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(4) : String(n));
const finite = (m: ComparedMetrics) => Number.isFinite(m.pr_auc) && Number.isFinite(m.f1) && Number.isFinite(m.brier);

export function decide(o: {
  champion: ComparedMetrics | null;
  challenger: ComparedMetrics;
  margins?: Partial<Margins>;
}): Decision {
  const margins: Margins = { ...DEFAULT_MARGINS, ...o.margins };
  const c = o.challenger;
  const base = { challenger: c, champion: o.champion, margins };
  if (!finite(c)) {
    return {
      promote: false,
      reasons: [
        `challenger metrics are not finite (PR-AUC ${fmt(c.pr_auc)}, F1 ${fmt(c.f1)}, Brier ${fmt(c.brier)}); the holdout may lack failures`,
      ],
      numbers: { ...base, pr_auc_gain: null, f1_change: null, brier_change: null },
    };
  }
  const ch = o.champion;
  if (!ch || !finite(ch)) {
    return {
      promote: true,
      reasons: [
        ch ? 'the champion cannot be scored on this holdout; the challenger replaces it' : 'there is no champion yet',
      ],
      numbers: { ...base, pr_auc_gain: null, f1_change: null, brier_change: null },
    };
  }
  const gain = c.pr_auc - ch.pr_auc;
  const f1Change = c.f1 - ch.f1;
  const brierChange = c.brier - ch.brier;
  const reasons: string[] = [];
  const okGain = gain >= margins.minPrAucGain;
  const okF1 = -f1Change <= margins.maxF1Loss;
  const okBrier = brierChange <= margins.brierTolerance;
  reasons.push(
    `PR-AUC ${fmt(c.pr_auc)} vs ${fmt(ch.pr_auc)} (gain ${fmt(gain)}, need ≥ ${margins.minPrAucGain})${okGain ? '' : ': not enough'}`,
  );
  reasons.push(
    `F1 ${fmt(c.f1)} vs ${fmt(ch.f1)} (change ${fmt(f1Change)}, may lose ≤ ${margins.maxF1Loss})${okF1 ? '' : ': loses too much'}`,
  );
  reasons.push(
    `Brier ${fmt(c.brier)} vs ${fmt(ch.brier)} (change ${fmt(brierChange)}, tolerance ${margins.brierTolerance})${okBrier ? '' : ': worse calibrated'}`,
  );
  return {
    promote: okGain && okF1 && okBrier,
    reasons,
    numbers: { ...base, pr_auc_gain: gain, f1_change: f1Change, brier_change: brierChange },
  };
}
