/**
 * Batches the socket writes of a connection: the first command written in one run of the microtask
 * queue goes out at once, and the commands after it in the same run go out together in one more
 * system call (the socket is corked at the second write and uncorked by a microtask queued at the
 * first, or once a command has been held {@link MAX_HOLD_MS}). A burst of concurrent publishes, or
 * the follow-up commands of a burst of replies, then costs Redis one read per batch instead of one
 * per command, and a command alone pays nothing for it.
 *
 * This is what ioredis' `enableAutoPipelining` is for, without its cost: auto-pipelining defers every
 * command to `setImmediate` and keeps one pipeline in flight per connection, which measured here
 * doubled the latency of one-at-a-time commands (a sequential `GET`: 154 µs against 80 µs) — the
 * lock's and the cache's hot path. Corking adds no wait: nothing is held past the microtask checkpoint.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.js';
import { corkAfterFirstWrite, type CorkableStream } from '../shared/cork-writes.js';

/**
 * Longest a batched command waits for the end of its microtask checkpoint, in ms. A burst of
 * publishes is one long checkpoint (1,000 delayed publishes: 30–200 ms of client work): unbounded,
 * all of it left in one write at the end, Redis started executing only then, and the replies
 * arrived over the 30–65 ms it took to run them (raw BullMQ, which writes each command at once:
 * 2–5 ms), delaying the first delayed start after the burst (docs/performance.md, "Delayed-start
 * lateness"). With the bound Redis works through the burst while the client is still producing it;
 * a short burst (a window of publishes) still leaves in one write. A bound of 32 writes instead cost
 * Redis 1.29 against 0.79 µs per pub/sub `PUBLISH` (more, smaller reads and reply writes).
 */
export const MAX_HOLD_MS = 1;

/** Batches one node connection's writes, on every (re)connect (each reconnect opens a new socket). */
function batchNode(redis: Redis): void {
  const apply = () => {
    const stream = (redis as unknown as { stream?: CorkableStream }).stream;
    if (stream) corkAfterFirstWrite(stream, MAX_HOLD_MS);
  };
  redis.on('connect', apply);
  apply();
}

/** Batches the writes of `client`: a single node, or every node connection of a Cluster. */
export function batchWrites(client: RedisClient): void {
  if (client instanceof Cluster) {
    client.on('+node', (redis: Redis) => batchNode(redis));
    for (const redis of client.nodes('all')) batchNode(redis);
    return;
  }
  batchNode(client);
}
