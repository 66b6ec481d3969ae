/**
 * Bounds how many tickets a node parks at once. Parking (a store write, then the physical ack) is
 * work the node does for tickets it cannot run yet; done for every fetched ticket at the physical
 * consumer's full concurrency, a deep backlog of one handler takes the node's CPU and its store
 * connection from every other plugin's jobs while it is parked (the head-of-line case: 1,000
 * tickets for a concurrency-1 handler). With the gate, at most `limit` parks are in flight; a ticket
 * waiting for its turn is *held*: unacknowledged on the physical queue (it keeps its physical slot,
 * and a node that dies meanwhile leaves it to the queue's redelivery), already in its lane's priority
 * order, and run by its own delivery if the lane takes it before its turn comes — then it is never
 * parked at all. Turns go to the lane with the fewest parked jobs first, so a handler with a short
 * queue is not kept behind another's backlog.
 */
import type { Registration } from './registration.js';

interface Waiter {
  readonly registration: Registration;
  readonly resolve: () => void;
}

/** The park turns of one node. */
export class ParkGate {
  private inFlight = 0;
  private waiters: Waiter[] = [];
  private open = false;

  /** @param limit most parks in flight at once (at least 1). */
  constructor(readonly limit: number) {}

  /** How many tickets wait for a turn. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Asks for a turn to park a ticket of `registration`'s lane: `ready` resolves when it is granted
   * (then call {@link release}); `cancel()` withdraws a request not yet granted (true) — false means
   * the turn was already granted and must be released.
   */
  acquire(registration: Registration): { readonly ready: Promise<void>; cancel(): boolean } {
    if (this.open || this.inFlight < this.limit) {
      this.inFlight += 1;
      return { ready: Promise.resolve(), cancel: () => false };
    }
    let waiter!: Waiter;
    const ready = new Promise<void>((resolve) => {
      waiter = { registration, resolve };
      this.waiters.push(waiter);
    });
    return {
      ready,
      cancel: () => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return false;
        this.waiters.splice(i, 1);
        return true;
      },
    };
  }

  /** Ends a turn; the next one goes to the waiting lane with the fewest parked jobs (then arrival order). */
  release(): void {
    if (this.waiters.length === 0) {
      this.inFlight = Math.max(0, this.inFlight - 1);
      return;
    }
    let best = 0;
    for (let i = 1; i < this.waiters.length; i += 1) {
      if (
        (this.waiters[i] as Waiter).registration.parkedCount < (this.waiters[best] as Waiter).registration.parkedCount
      ) {
        best = i;
      }
    }
    const [next] = this.waiters.splice(best, 1);
    next!.resolve(); // the turn passes on: inFlight stays
  }

  /** Lets every waiter through now and from now on (the node is stopping: they hand their tickets back). */
  openAll(): void {
    this.open = true;
    const waiters = this.waiters;
    this.waiters = [];
    this.inFlight += waiters.length;
    for (const waiter of waiters) waiter.resolve();
  }

  /** Bounds turns again (the node started again). */
  close(): void {
    this.open = false;
  }
}
