/**
 * TensorFlow.js backend selection. An install may alias `@tensorflow/tfjs-node` to plain tfjs, so the
 * name alone proves nothing: the real native binding is used only when the resolved package really is
 * tfjs-node. Otherwise the WASM backend, else the pure-JS cpu backend.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

type Tf = typeof import('@tensorflow/tfjs');
let cached: Promise<{ tf: Tf; backend: string }> | undefined;

export function realTfjsNodeInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('@tensorflow/tfjs-node/package.json'), 'utf8'));
    return pkg.name === '@tensorflow/tfjs-node';
  } catch {
    return false;
  }
}

async function pick(): Promise<{ tf: Tf; backend: string }> {
  if (realTfjsNodeInstalled()) {
    try {
      const tf = (await import('@tensorflow/tfjs-node' as string)) as Tf;
      await tf.ready();
      if (tf.getBackend() === 'tensorflow') return { tf, backend: 'tensorflow' };
    } catch {
      // broken native build: fall through to wasm/cpu
    }
  }
  const tf = await import('@tensorflow/tfjs');
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return { tf, backend: 'wasm' };
    }
  } catch {
    // wasm binary missing or unsupported: cpu still works
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: 'cpu' };
}

/** The tfjs module with the best available backend active (selected once per process). */
export function loadTf(): Promise<{ tf: Tf; backend: string }> {
  cached ??= pick();
  return cached;
}
