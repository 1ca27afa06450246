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

/**
 * Row heights as a Fenwick tree: a measured height changes in O(log n), and the offset of a row or
 * the row at an offset is found in O(log n). A conversation of 20,000 messages is measured a few
 * rows per frame while it scrolls; recomputing every offset each time costs a frame's budget.
 */
export class RowHeights {
  #tree = new Float64Array(1);
  #heights = new Float64Array(0);
  #total = 0;

  get count(): number {
    return this.#heights.length;
  }

  get total(): number {
    return this.#total;
  }

  /** Starts over with `count` rows. O(n). */
  reset(count: number, heightOf: (index: number) => number): void {
    this.#heights = new Float64Array(count);
    this.#tree = new Float64Array(count + 1);
    this.#total = 0;
    for (let index = 0; index < count; index += 1) {
      const height = heightOf(index);
      this.#heights[index] = height;
      this.#total += height;
      // Linear construction: each node passes its sum to its parent.
      this.#tree[index + 1]! += height;
      const parent = index + 1 + ((index + 1) & -(index + 1));
      if (parent <= count) this.#tree[parent]! += this.#tree[index + 1]!;
    }
  }

  heightOf(index: number): number {
    return this.#heights[index] ?? 0;
  }

  /** Sets one row's height. O(log n). */
  set(index: number, height: number): void {
    const delta = height - (this.#heights[index] ?? height);
    if (delta === 0 || index < 0 || index >= this.count) return;
    this.#heights[index] = height;
    this.#total += delta;
    for (let node = index + 1; node <= this.count; node += node & -node) this.#tree[node]! += delta;
  }

  /** The top of row `index` (the total height at `count`). O(log n). */
  offsetOf(index: number): number {
    let sum = 0;
    for (let node = Math.min(index, this.count); node > 0; node -= node & -node) sum += this.#tree[node]!;
    return sum;
  }

  /** The row that contains `y`: the last row whose top is at or above y. O(log n). */
  rowAt(y: number): number {
    const count = this.count;
    if (count === 0) return 0;
    let position = 0;
    let remaining = y;
    for (let step = 2 ** Math.floor(Math.log2(count)); step > 0; step >>= 1) {
      const next = position + step;
      if (next <= count && this.#tree[next]! <= remaining) {
        position = next;
        remaining -= this.#tree[next]!;
      }
    }
    return Math.min(position, count - 1);
  }
}

/** The rows to render for a viewport at `scrollTop` of height `viewport`, with `overscan` rows either side. */
export function windowOf(rows: RowHeights, scrollTop: number, viewport: number, overscan = 6): WindowRange {
  const count = rows.count;
  const total = rows.total;
  if (count === 0) return { start: 0, end: 0, padTop: 0, padBottom: 0, total };
  const first = rows.rowAt(Math.max(0, scrollTop));
  const last = rows.rowAt(Math.max(0, scrollTop + viewport));
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, last + 1 + overscan);
  const padTop = rows.offsetOf(start);
  return { start, end, padTop, padBottom: total - rows.offsetOf(end), total };
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
