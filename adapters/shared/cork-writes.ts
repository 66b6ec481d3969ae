/**
 * Socket write batching shared by the Redis and RabbitMQ adapters: every write made in one run of
 * the microtask queue leaves in one system call. The stream is corked at the first write and
 * uncorked by a microtask queued behind it, so nothing waits: a write alone still goes out in the
 * same turn of the event loop.
 */

/** The part of a `net.Socket` (or any `stream.Writable`) this needs. */
export interface CorkableStream {
  write(...args: unknown[]): boolean;
  cork(): void;
  uncork(): void;
}

const BATCHED = Symbol.for('clusterkit.batchedWrites');

/** Wraps `stream.write` so writes of one microtask checkpoint leave in one system call. Idempotent. */
export function corkPerMicrotask(stream: CorkableStream & { [BATCHED]?: boolean }): void {
  if (stream[BATCHED] || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  stream[BATCHED] = true;
  const write = stream.write.bind(stream);
  let corked = false;
  const flush = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      queueMicrotask(flush);
    }
    return write(...args);
  };
}
