/** A tree's JSON form inside a saved model (see model-format.ts for the model around it). */
import type { FlatTree } from './tree.ts';

/** Plain-JSON form of a tree; +Infinity thresholds (split "any value vs missing") become null. */
export function treeToJSON(t: FlatTree): Record<string, number[]> {
  return {
    feature: Array.from(t.feature),
    threshold: Array.from(t.threshold, (v) => (Number.isFinite(v) ? v : (null as unknown as number))),
    bin_threshold: Array.from(t.binThreshold),
    default_left: Array.from(t.defaultLeft),
    left: Array.from(t.left),
    right: Array.from(t.right),
    value: Array.from(t.value),
    cover: Array.from(t.cover),
    gain: Array.from(t.gain),
  };
}

/** Parses and structurally validates a tree; `where` prefixes error messages with the JSON path. */
export function treeFromJSON(j: unknown, d: number, where: string): FlatTree {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new TypeError(`${where}: expected an object`);
  const keys = ['feature', 'threshold', 'bin_threshold', 'default_left', 'left', 'right', 'value', 'cover', 'gain'];
  let len = -1;
  for (const k of keys) {
    if (!Array.isArray(o[k])) throw new TypeError(`${where}.${k}: expected an array`);
    const a = o[k] as unknown[];
    if (len < 0) len = a.length;
    if (a.length !== len) throw new TypeError(`${where}.${k}: length ${a.length} differs from feature length ${len}`);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (k === 'threshold' && v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new TypeError(`${where}.${k}[${i}]: expected a finite number`);
    }
  }
  if (len < 1) throw new TypeError(`${where}.feature: a tree needs at least one node`);
  const t: FlatTree = {
    feature: Int32Array.from(o.feature as number[]),
    threshold: Float64Array.from(o.threshold as (number | null)[], (v) => (v === null ? Infinity : v)),
    binThreshold: Uint8Array.from(o.bin_threshold as number[]),
    defaultLeft: Uint8Array.from(o.default_left as number[]),
    left: Int32Array.from(o.left as number[]),
    right: Int32Array.from(o.right as number[]),
    value: Float64Array.from(o.value as number[]),
    cover: Float64Array.from(o.cover as number[]),
    gain: Float64Array.from(o.gain as number[]),
  };
  // Children must point forward so traversal always terminates.
  for (let i = 0; i < len; i++) {
    const f = t.feature[i];
    if (f >= d) throw new TypeError(`${where}.feature[${i}]: index ${f} out of range (d=${d})`);
    if (f >= 0) {
      for (const [k, c] of [
        ['left', t.left[i]],
        ['right', t.right[i]],
      ] as const) {
        if (!(c > i && c < len)) throw new TypeError(`${where}.${k}[${i}]: child ${c} must be in (${i}, ${len})`);
      }
    }
  }
  return t;
}
