/**
 * The abort state of one generation running on this node. Its `AbortSignal` is made only when the
 * handler reads `job.signal` (most never do): a signal costs ~4–7 µs of client CPU to make here,
 * per job. Until then `aborted` and `reason` say the same as the signal would; the first abort
 * wins, as with an `AbortController`.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  /** Aborted (the signal, once made, is aborted too). */
  aborted = false;
  /** The first abort's reason. */
  reason: unknown;

  /** Aborts with `reason`, unless already aborted. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** The signal (made now if it was not yet, already aborted if the state is). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
