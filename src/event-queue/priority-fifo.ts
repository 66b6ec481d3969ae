/**
 * The waiting line of a memory queue: a binary heap of the priority levels present, each level a
 * FIFO. Taking the next record is O(1) in the common case (one or a few levels), and records of a
 * level sit in one array read front to back — unlike one big heap of records, whose sift-down
 * touches log2(n) scattered records per take and dominates the cost once a backlog builds up.
 */
import { BinaryHeap } from './binary-heap.js';

/** What the line needs of a record. */
export interface Ranked {
  readonly priority: number;
  /** Publish order; used only to put a handed-back record back in its place. */
  readonly seq: number;
}

/** A FIFO over an array with a moving head, compacted once the consumed prefix dominates. */
class Fifo<T extends Ranked> {
  items: T[] = [];
  head = 0;
  /** In the priority heap (non-empty). */
  listed = false;

  get size(): number {
    return this.items.length - this.head;
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    this.items[this.head] = undefined as unknown as T; // let it be collected
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Inserts by `seq`, searching from the front (a handed-back record belongs near it). */
  insertBySeq(item: T): void {
    const items = this.items;
    let i = this.head;
    while (i < items.length && (items[i] as T).seq < item.seq) i++;
    if (i === this.head && this.head > 0) {
      this.head--;
      items[this.head] = item;
    } else {
      items.splice(i, 0, item);
    }
  }
}

const MAX_IDLE_LEVELS = 64;

/** Records by priority (lower first), first in first out within a priority. */
export class PriorityFifo<T extends Ranked> {
  private readonly levels = new Map<number, Fifo<T>>();
  /** The priorities that have a non-empty FIFO, lowest on top. */
  private readonly order = new BinaryHeap<number>((a, b) => a < b);
  private count = 0;

  /** Number of records waiting. */
  get size(): number {
    return this.count;
  }

  /** Adds a record at the back of its priority. */
  push(item: T): void {
    this.level(item.priority).items.push(item);
    this.count++;
  }

  /** Puts a record back at its publish-order place (handed back unstarted). */
  restore(item: T): void {
    this.level(item.priority).insertBySeq(item);
    this.count++;
  }

  /** Takes the first record of the lowest priority. */
  pop(): T | undefined {
    const top = this.order.peek();
    if (top === undefined) return undefined;
    const fifo = this.levels.get(top) as Fifo<T>;
    const item = fifo.shift();
    this.count--;
    if (fifo.size === 0) {
      this.order.pop();
      fifo.listed = false;
      // Empty levels are kept for reuse (a queue that keeps draining would otherwise allocate one
      // per message), unless callers spread over many distinct priorities.
      if (this.levels.size > MAX_IDLE_LEVELS) this.levels.delete(top);
    }
    return item;
  }

  /** Removes every record. */
  clear(): void {
    this.levels.clear();
    this.order.clear();
    this.count = 0;
  }

  private level(priority: number): Fifo<T> {
    let fifo = this.levels.get(priority);
    if (fifo === undefined) {
      fifo = new Fifo<T>();
      this.levels.set(priority, fifo);
    }
    if (!fifo.listed) {
      fifo.listed = true;
      this.order.push(priority);
    }
    return fifo;
  }
}
