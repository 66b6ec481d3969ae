/**
 * Keyed trailing-edge debounce for pub/sub handlers: each key (a serialized message) has its own
 * quiet period, and only the last call of a burst runs, once, when that period ends.
 */

/** Debounces calls per key; see {@link KeyedDebouncer.schedule}. */
export class KeyedDebouncer {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** @param waitMs quiet period in milliseconds that must pass without a call for the same key */
  constructor(readonly waitMs: number) {}

  /**
   * Runs `fn` once `waitMs` ms have passed without another `schedule` for `key`. A new call for the
   * same key restarts its quiet period and replaces the pending `fn`; other keys are untouched.
   */
  schedule(key: string, fn: () => void): void {
    const pending = this.timers.get(key);
    if (pending !== undefined) clearTimeout(pending);
    // The timer stays referenced: a debounced handler is pending work the process should not drop.
    const timer = setTimeout(() => {
      this.timers.delete(key);
      fn();
    }, this.waitMs);
    this.timers.set(key, timer);
  }

  /** Pending keys (calls waiting for their quiet period to end). */
  get pending(): number {
    return this.timers.size;
  }

  /** Drops every pending call without running it (unsubscribe, close). */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
