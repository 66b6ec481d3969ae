/**
 * NocoBase's `idle()` semantics on a clusterkit consumer. NocoBase's adapters ask `idle()` once
 * per read and, when it says yes, take up to `concurrency - in flight` messages in that read (all
 * waiting ones when concurrency is unlimited). clusterkit's consumers ask their gate before each
 * message; this gate answers the first ask of a read with `idle()` and grants that read's quota,
 * so the next messages of the same burst are taken without asking again — as NocoBase would.
 */

/** Which calls of `idle()` one gate makes, and the quota it grants. */
export class IdleGate {
  private credits = 0;
  private readUntil = 0;
  private inFlight = 0;

  /**
   * @param idle NocoBase's `idle()` (absent: always idle)
   * @param limit the subscription's effective concurrency
   * @param readWindowMs how long a read's quota stays valid, in ms: one fetch burst
   */
  constructor(
    private readonly idle: (() => boolean) | undefined,
    private readonly limit: number,
    private readonly readWindowMs: number,
  ) {}

  /** The gate handed to clusterkit (`subscribe({ idle })`). */
  readonly isIdle = (): boolean => {
    if (this.credits > 0 && performance.now() < this.readUntil) return true;
    this.credits = 0;
    if (this.idle !== undefined && this.idle() === false) return false;
    this.credits = Math.max(0, this.limit - this.inFlight);
    this.readUntil = performance.now() + this.readWindowMs;
    // Open even with no free slot: the consumer's concurrency already holds it back, and a closed
    // gate would pause it until the next recheck after a slot frees.
    return true;
  };

  /** A message of the current read starts. */
  took(): void {
    this.inFlight += 1;
    if (this.credits > 0) this.credits -= 1;
  }

  /** A message finished: the next read asks `idle()` again, as NocoBase re-listens after each message. */
  finished(): void {
    this.inFlight -= 1;
    this.credits = 0;
  }
}
