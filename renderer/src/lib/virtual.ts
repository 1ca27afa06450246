// Windowing for long lists (a roster of thousands, a conversation of tens of thousands): only the
// rows in view (plus a margin) are in the DOM. Rows may differ in height: measured heights replace
// the estimate as rows are seen. Pure: unit-tested from test/unit.

export interface WindowRange {
  /** First and one-past-last index to render. */
  start: number;
  end: number;
  /** Space above the first rendered row and below the last one, in pixels. */
  padTop: number;
  padBottom: number;
  total: number;
}

/** Offsets of every row: offsets[i] is the top of row i, offsets[n] the total height. O(n). */
export function offsetsOf(count: number, heightOf: (index: number) => number): Float64Array {
  const offsets = new Float64Array(count + 1);
  for (let index = 0; index < count; index += 1) offsets[index + 1] = offsets[index]! + heightOf(index);
  return offsets;
}

/** The index of the row that contains `y` (the last row whose top is at or above y). O(log n). */
export function rowAt(offsets: Float64Array, y: number): number {
  const count = offsets.length - 1;
  if (count <= 0) return 0;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (offsets[middle]! <= y) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The rows to render for a viewport at `scrollTop` of height `viewport`, with `overscan` rows either side. */
export function windowOf(offsets: Float64Array, scrollTop: number, viewport: number, overscan = 6): WindowRange {
  const count = offsets.length - 1;
  const total = offsets[count] ?? 0;
  if (count === 0) return { start: 0, end: 0, padTop: 0, padBottom: 0, total };
  const first = rowAt(offsets, Math.max(0, scrollTop));
  const last = rowAt(offsets, Math.max(0, scrollTop + viewport));
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, last + 1 + overscan);
  return { start, end, padTop: offsets[start]!, padBottom: total - offsets[end]!, total };
}

/** Fixed-height rows: the same window without an offsets table. O(1). */
export function fixedWindowOf(count: number, rowHeight: number, scrollTop: number, viewport: number, overscan = 6): WindowRange {
  const total = count * rowHeight;
  if (count === 0) return { start: 0, end: 0, padTop: 0, padBottom: 0, total };
  const first = Math.min(count - 1, Math.max(0, Math.floor(scrollTop / rowHeight)));
  const last = Math.min(count - 1, Math.max(0, Math.floor((scrollTop + viewport) / rowHeight)));
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, last + 1 + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (count - end) * rowHeight, total };
}
