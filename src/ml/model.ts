/**
 * loadModel: rebuilds a saved model of any kind. The model contract and the saved format's header live in
 * model-format.ts and are re-exported here, so callers need one import.
 */
import { parseHeader, ModelFormatError, type RiskModel } from './model-format.ts';

export * from './model-format.ts';

/** Rebuilds any model kind from its toJSON() output (object or JSON string). Throws ModelFormatError. */
export async function loadModel(json: unknown): Promise<RiskModel> {
  const parsed = parseHeader(json);
  try {
    switch (parsed.header.kind) {
      case 'gbdt':
      case 'forest': {
        const { treeModelFromJSON } = await import('./tree-model.ts');
        return treeModelFromJSON(parsed);
      }
      case 'baseline': {
        const { baselineFromJSON } = await import('./baseline.ts');
        return baselineFromJSON(parsed);
      }
      case 'mlp': {
        const { mlpFromJSON } = await import('./mlp.ts');
        return mlpFromJSON(parsed);
      }
    }
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    if (e instanceof TypeError || e instanceof RangeError) throw new ModelFormatError(e.message);
    throw e;
  }
}
