import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServingCounters } from './service.ts';
import type { Scorer } from './types.ts';

/** Serving's series in /metrics: answers by level, fallback answers, and which model answers. */
export function servingMetrics(registry: Registry, scorer: Pick<Scorer, 'info' | 'ready'>): ServingCounters {
  const predictions = new Counter({
    name: 'riskgate_predictions_total',
    help: 'Risk answers by level',
    labelNames: ['risk_level'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'riskgate_fallback_answers_total',
    help: 'Risk answers given by the rule-based fallback',
    registers: [registry],
  });
  new Gauge({
    name: 'riskgate_model_info',
    help: 'The model answering risk requests (value 1); kind "rules" means the fallback',
    labelNames: ['id', 'version', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      const info = scorer.info();
      if (info) this.set({ id: info.id, version: info.version, kind: info.kind }, 1);
    },
  });
  new Gauge({
    name: 'riskgate_ready',
    help: '1 when a model or the fallback is loaded',
    registers: [registry],
    collect() {
      this.set(scorer.ready() ? 1 : 0);
    },
  });
  // Labelled children are cached: prom-client hashes the label object on every call otherwise.
  const levelChildren = new Map<string, { inc(): void }>();
  return {
    prediction(level) {
      let c = levelChildren.get(level);
      if (!c) levelChildren.set(level, (c = predictions.labels({ risk_level: level })));
      c.inc();
    },
    fallback: () => fallbacks.inc(),
  };
}
