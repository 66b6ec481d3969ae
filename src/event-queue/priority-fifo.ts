/**
 * The waiting line of a memory queue: one FIFO bucket per priority level (a ring-buffer deque) and a
 * small sorted array of the levels that are not empty. Push and pop are O(1) — no comparison at all
 * while every record has the same priority, and none between records of one level — where a heap of
 * records costs log2(n) scattered comparisons per push and per pop once a backlog builds up.
 */

/** What the line needs of a record. */
export interface Ranked {
  readonly priority: number;
  /** Publish order; used only to put a handed-back record back in its place. */
  readonly seq: number;
}

const INITIAL_CAPACITY = 16;

/** A double-ended queue on a power-of-two ring buffer. */
class Deque<T extends Ranked> {
  private items: (T | undefined)[] = new Array<T | undefined>(INITIAL_CAPACITY);
  private head = 0;
  private mask = INITIAL_CAPACITY - 1;
  size = 0;

  push(item: T): void {
    if (this.size > this.mask) this.grow();
    this.items[(this.head + this.size) & this.mask] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let it be collected
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return item;
  }

  /** Inserts by `seq`: a handed-back record usually belongs at the front, which is O(1). */
  insertBySeq(item: T): void {
    if (this.size > this.mask) this.grow();
    let i = 0;
    while (i < this.size && (this.items[(this.head + i) & this.mask] as T).seq < item.seq) i++;
    if (i === 0) {
      this.head = (this.head - 1) & this.mask;
      this.items[this.head] = item;
    } else {
      for (let j = this.size; j > i; j--) {
        this.items[(this.head + j) & this.mask] = this.items[(this.head + j - 1) & this.mask];
      }
      this.items[(this.head + i) & this.mask] = item;
    }
    this.size++;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}

/** Empty buckets kept for reuse, unless callers spread over more distinct priorities than this. */
const MAX_IDLE_LEVELS = 64;

/** Records by priority (lower first), first in first out within a priority. */
export class PriorityFifo<T extends Ranked> {
  private readonly buckets = new Map<number, Deque<T>>();
  /** The priorities whose bucket is not empty, ascending: usually one or two entries. */
  private readonly levels: number[] = [];
  /** The bucket of `levels[0]` (the next record's), or undefined when empty. */
  private first: Deque<T> | undefined;
  private count = 0;

  /** Number of records waiting. */
  get size(): number {
    return this.count;
  }

  /** Adds a record at the back of its priority. */
  push(item: T): void {
    this.bucket(item.priority).push(item);
    this.count++;
  }

  /** Puts a record back at its publish-order place (handed back unstarted). */
  restore(item: T): void {
    this.bucket(item.priority).insertBySeq(item);
    this.count++;
  }

  /** Takes the first record of the lowest priority. */
  pop(): T | undefined {
    const bucket = this.first;
    if (bucket === undefined) return undefined;
    const item = bucket.shift();
    this.count--;
    if (bucket.size === 0) {
      const level = this.levels.shift() as number;
      this.first = this.levels.length > 0 ? this.buckets.get(this.levels[0] as number) : undefined;
      if (this.buckets.size > MAX_IDLE_LEVELS) this.buckets.delete(level);
    }
    return item;
  }

  /** Removes every record. */
  clear(): void {
    this.buckets.clear();
    this.levels.length = 0;
    this.first = undefined;
    this.count = 0;
  }

  /** The bucket of `priority`, listed among the non-empty levels (the caller adds to it at once). */
  private bucket(priority: number): Deque<T> {
    // The common case: the same level as the next record's (one priority in use).
    if (this.first !== undefined && this.levels[0] === priority) return this.first;
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = new Deque<T>();
      this.buckets.set(priority, bucket);
    }
    if (bucket.size === 0) {
      const levels = this.levels;
      let i = levels.length;
      while (i > 0 && (levels[i - 1] as number) > priority) i--;
      levels.splice(i, 0, priority);
      if (i === 0) this.first = bucket;
    }
    return bucket;
  }
}
