/**
 * The in-process baseline for the memory event queue: an array with a read index and `concurrency`
 * async worker loops that await the handler — the least a promise-based in-process queue can do.
 */

/** A minimal in-process work queue. */
export class ArrayQueue<T> {
  private items: T[] = [];
  private head = 0;
  private readonly idle: (() => void)[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(concurrency: number, handler: (item: T) => Promise<void>) {
    for (let i = 0; i < concurrency; i += 1) this.loops.push(this.loop(handler));
  }

  /** Adds an item and wakes one idle worker. Async like a real queue's publish. */
  async push(item: T): Promise<void> {
    this.items.push(item);
    this.idle.pop()?.();
  }

  /** Stops the workers once they are idle. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.idle.splice(0)) wake();
    await Promise.all(this.loops);
  }

  private async loop(handler: (item: T) => Promise<void>): Promise<void> {
    while (!this.stopped) {
      if (this.head < this.items.length) {
        const item = this.items[this.head] as T;
        this.head += 1;
        // Drop the consumed prefix now and then so the array does not grow without bound.
        if (this.head > 65_536 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        await handler(item);
      } else {
        await new Promise<void>((resolve) => this.idle.push(resolve));
      }
    }
  }
}
