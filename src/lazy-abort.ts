/**
 * An abort state whose `AbortSignal` is made only when someone reads `signal` (most never do): a
 * signal costs ~4–7 µs of client CPU to make here, and a listener on it ~1–2 more. Until then
 * `aborted` and `reason` say what the signal would, and {@link AbortSource.onAbort} lets code inside
 * the library follow it without making one. The first abort wins, as with an `AbortController`.
 * Used for a managed job's `job.signal` and for an event-queue handler attempt's `context.signal`.
 */

/** An abort state that can be followed without an `AbortSignal`. */
export interface AbortSource {
  readonly aborted: boolean;
  /** The first abort's reason. */
  readonly reason: unknown;
  /**
   * Calls `listener(reason)` once, at the first abort after now (not if already aborted: check
   * `aborted` first); returns what stops listening.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
}

const nothing = (): void => undefined;

/** An {@link AbortSource} that never aborts. */
export const NEVER_ABORTED: AbortSource = Object.freeze({ aborted: false, reason: undefined, onAbort: () => nothing });

/** An {@link AbortSource} over an existing `AbortSignal`. */
export function signalSource(signal: AbortSignal): AbortSource {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onAbort(listener) {
      const onAbort = () => listener(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      return () => signal.removeEventListener('abort', onAbort);
    },
  };
}

/** The lazy abort state (see the file's comment). */
export class LazyAbort implements AbortSource {
  private controller: AbortController | undefined;
  private listeners: ((reason: unknown) => void)[] | undefined;
  /** Aborted (the signal, once made, is aborted too). */
  aborted = false;
  /** The first abort's reason. */
  reason: unknown;

  /** Aborts with `reason`, unless already aborted: the signal (if made) first, then the `onAbort` listeners. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    if (listeners === undefined) return;
    this.listeners = undefined;
    for (const listener of listeners) listener(reason);
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.aborted) return nothing;
    (this.listeners ??= []).push(listener);
    return () => {
      const at = this.listeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.listeners!.splice(at, 1);
    };
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
