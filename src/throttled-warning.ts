/**
 * The default `onError` of the broker adapters: background failures (a lost connection, a failed
 * sweep) as warnings on stderr, each distinct message at most once per 10 s, so an outage does not
 * flood the log.
 */

/** Minimum gap between two warnings with the same message, in ms. */
const REPEAT_AFTER_MS = 10_000;

/** An `onError(error, meta)` that warns on stderr as `[label] message`, throttled per message. */
export function throttledWarning(label: string): (error: unknown, meta: Record<string, unknown>) => void {
  const last = new Map<string, number>();
  return (error, meta) => {
    const message = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    if ((last.get(message) ?? 0) > now - REPEAT_AFTER_MS) return;
    last.set(message, now);
    console.warn(`[${label}] ${message}`, meta);
  };
}
