/**
 * A plain array-backed binary min-heap. The memory queue keeps its waiting records in one ordered
 * by (priority, sequence) and its delayed records in one ordered by (due time, sequence), so taking
 * the next record is O(log n) however many are queued, and ties keep publish order.
 */

/** Returns true when `a` must come out before `b`. */
export type HeapOrder<T> = (a: T, b: T) => boolean;

/** A binary min-heap under a strict order. */
export class BinaryHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: HeapOrder<T>) {}

  /** Number of items held. */
  get size(): number {
    return this.items.length;
  }

  /** The first item without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds an item. */
  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    // Sift up. Records pushed in publish order with equal priority stop after one comparison.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!this.before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the first item. */
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const n = items.length;
    let i = 0;
    // Sift down: move the smaller child up until `last` fits.
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = items[left] as T;
      if (right < n) {
        const r = items[right] as T;
        if (this.before(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!this.before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Removes every item. */
  clear(): void {
    this.items = [];
  }

  /** The items in no particular order (a copy). */
  toArray(): T[] {
    return this.items.slice();
  }
}
