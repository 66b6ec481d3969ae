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

/**
 * Wraps `stream.write` so writes of one microtask checkpoint leave in one system call — or, with
 * `maxWrites`, in one system call per `maxWrites` writes (a very large batch can cost the receiver
 * more than it saves: see adapters/rabbitmq/write-batching.ts). Idempotent.
 */
export function corkPerMicrotask(stream: CorkableStream & { [BATCHED]?: boolean }, maxWrites = Infinity): void {
  if (stream[BATCHED] || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  stream[BATCHED] = true;
  const write = stream.write.bind(stream);
  let corked = false;
  /** Writes buffered since the last cork. */
  let held = 0;
  const flush = () => {
    corked = false;
    held = 0;
    stream.uncork();
  };
  stream.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      queueMicrotask(flush);
    } else if (++held >= maxWrites) {
      // The batch is full: send it and start the next one (still flushed by the same microtask).
      held = 0;
      stream.uncork();
      stream.cork();
    }
    return write(...args);
  };
}

/**
 * Like {@link corkPerMicrotask}, but the first write of a microtask checkpoint goes out at once and
 * only the writes after it are corked (flushed together at the end of the checkpoint). A command
 * alone — the lock's and the cache's one-at-a-time hot path — then pays no cork, buffering and
 * uncork (measured ~5 µs of client CPU per acquire+release pair here); a burst costs two system
 * calls instead of one.
 *
 * `maxHoldMs` bounds how long a write waits for its checkpoint to end: a write made when the oldest
 * held one has waited that long sends the batch. Checkpoints are usually short (a window of
 * publishes: a millisecond or two), but a burst of 1,000 publishes runs as one checkpoint of tens
 * to hundreds of milliseconds, and unbounded the server received nothing until its end. A bound in
 * time rather than in writes keeps short bursts in one system call. Idempotent, and exclusive with
 * {@link corkPerMicrotask} on one stream.
 */
export function corkAfterFirstWrite(stream: CorkableStream & { [BATCHED]?: boolean }, maxHoldMs = Infinity): void {
  if (stream[BATCHED] || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  stream[BATCHED] = true;
  const write = stream.write.bind(stream);
  /** 0: no write yet in this checkpoint; 1: one write went out; 2: corked, later writes buffered. */
  let state = 0;
  /** When the oldest write held now was made (performance.now()). */
  let heldSince = 0;
  const endOfCheckpoint = () => {
    if (state === 2) stream.uncork();
    state = 0;
  };
  stream.write = (...args: unknown[]) => {
    if (state === 0) {
      state = 1;
      queueMicrotask(endOfCheckpoint);
      return write(...args);
    }
    if (state === 1) {
      state = 2;
      stream.cork();
      if (maxHoldMs !== Infinity) heldSince = performance.now();
      return write(...args);
    }
    const written = write(...args);
    if (maxHoldMs !== Infinity && performance.now() - heldSince >= maxHoldMs) {
      // Held long enough: send the batch now and keep batching (the checkpoint's microtask flushes the rest).
      stream.uncork();
      stream.cork();
      heldSince = performance.now();
    }
    return written;
  };
}
