/**
 * The local lease clocks of one lock manager: every held handle, and ONE timer for all of them that
 * fires at the earliest local lease end and marks the handles whose lease ran out lost (their
 * `lock.signal` aborts). One timer per manager instead of one per handle: an acquire+release pair
 * then arms and clears no timer at all (a lease taken after the armed end just waits its turn, and
 * a released handle is only dropped from the set; the timer finds nothing to do when it fires).
 */

/** What the clock needs of a held lock. */
export interface ExpiringLease {
  /** `Date.now()` ms at which the local lease ends (start of the acquire/extend call + ttl). */
  readonly expiresAt: number;
  /** Where the clock keeps the lease (-1: not watched); only {@link LeaseExpiry} writes it. */
  leaseSlot: number;
  /** Marks the lease lost because it ran out. */
  expire(): void;
}

/** The held leases of one manager and the timer that expires them. */
export class LeaseExpiry<T extends ExpiringLease = ExpiringLease> {
  /**
   * Held leases, unordered; each knows its index (`leaseSlot`), so adding and dropping one is a
   * push and a swap (a `Set` of handles cost more than the rest of the bookkeeping per pair).
   */
  private readonly leases: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (`Date.now()` ms); +∞ when none is armed. */
  private armedFor = Number.POSITIVE_INFINITY;

  /** The leases held now. */
  held(): T[] {
    return [...this.leases];
  }

  /** Starts watching `lease` (a new holder). */
  add(lease: T): void {
    if (lease.leaseSlot >= 0) return;
    lease.leaseSlot = this.leases.length;
    this.leases.push(lease);
    if (lease.expiresAt < this.armedFor) this.arm(lease.expiresAt);
  }

  /** `lease.expiresAt` changed (extend): fire no later than the new end. */
  moved(lease: T): void {
    if (lease.leaseSlot >= 0 && lease.expiresAt < this.armedFor) this.arm(lease.expiresAt);
  }

  /** Stops watching `lease` (released or lost). The timer stays: when it fires it finds nothing to do. */
  delete(lease: T): void {
    const slot = lease.leaseSlot;
    if (slot < 0 || this.leases[slot] !== lease) return;
    const last = this.leases.pop()!;
    if (last !== lease) {
      this.leases[slot] = last;
      last.leaseSlot = slot;
    }
    lease.leaseSlot = -1;
  }

  /** Clears the timer (the manager closed). Handles still held keep no timer. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.held()) {
      if (lease.expiresAt <= now) lease.expire();
      else if (lease.expiresAt < next) next = lease.expiresAt;
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  };

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    // A lease timer must not keep a process alive on its own.
    this.timer.unref();
  }
}
