/**
 * Deadlines for many waits that all last the same time (every publish waits at most
 * `unavailableTimeoutMs` for its confirm): added in deadline order, so one timer armed for the
 * oldest serves them all, instead of a Node timer created and cleared per message. At thousands of
 * publishes a second, the timers (and the garbage of each one living until its confirm) were a
 * visible share of the client's CPU.
 */

/**
 * A wait the caller allocates itself ({@link DeadlineQueue.push}): one object per wait, no closures
 * (the publish fast path's pending confirm is one).
 */
export interface Deadline {
  /** Epoch ms at which it expires. */
  readonly at: number;
  /** Set once settled or expired. */
  done: boolean;
  /** Called once, at `at`, unless settled first. */
  expire(): void;
}

/** See the module comment. Entries must be added with non-decreasing deadlines. */
export class DeadlineQueue {
  private entries: Deadline[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  /** Adds a wait (deadlines non-decreasing); end it early with {@link settle}. */
  push(entry: Deadline): void {
    this.entries.push(entry);
    if (this.timer === undefined) this.arm(entry.at);
  }

  /** Marks `entry` over: it will not expire. */
  settle(entry: Deadline): void {
    entry.done = true;
    // Waits end roughly in order (confirms do): dropping settled ones from the front keeps the
    // queue as short as the number of waits in flight.
    this.dropSettled();
  }

  private dropSettled(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.done) this.head += 1;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  private arm(at: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, at - Date.now()));
    // A pending deadline must not keep the process alive on its own.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (!entry.done) {
        if (entry.at > now) break;
        entry.done = true;
        entry.expire();
      }
      this.head += 1;
    }
    this.dropSettled();
    const next = this.entries[this.head];
    if (next) this.arm(next.at);
  }
}
