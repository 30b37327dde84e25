/** Row partition (LightGBM's data_partition): a tree's rows kept as one array of contiguous leaf segments. */

/**
 * Splits the segment rows[start..end) on feature `f` at bin `thr` (missing values, bin 0, go left when
 * `defaultLeft`) and returns where the right part starts. Stable: left rows stay in front, right rows go
 * via `scratch` (length >= the segment). Branch-free (each row is written to both sides, a bin table says
 * which one counts): the direction is a coin toss to the branch predictor. `goesLeft` is a 256-entry
 * scratch table.
 */
export function partitionRows(
  rows: Uint32Array,
  scratch: Uint32Array,
  goesLeft: Uint8Array,
  bins: Uint8Array,
  n: number,
  f: number,
  thr: number,
  defaultLeft: boolean,
  start: number,
  end: number,
): number {
  const col = f * n;
  for (let b = 1; b < 256; b++) goesLeft[b] = b <= thr ? 1 : 0;
  goesLeft[0] = defaultLeft ? 1 : 0;
  let wl = start,
    wr = 0;
  for (let k = start; k < end; k++) {
    const r = rows[k];
    const left = goesLeft[bins[col + r]];
    rows[wl] = r;
    scratch[wr] = r;
    wl += left;
    wr += 1 - left;
  }
  rows.set(scratch.subarray(0, wr), wl);
  return wl;
}

/** Whether rows[0..n) is 0, 1, …, n-1 (the root's histogram can then read gradients in order). */
export function isIdentity(rows: Uint32Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (rows[i] !== i) return false;
  return true;
}
