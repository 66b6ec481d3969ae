/**
 * Batches the socket writes of a connection: the first command written in one run of the microtask
 * queue goes out at once, and the commands after it in the same run go out together, at most
 * {@link MAX_WRITES_PER_BATCH} per system call (the socket is corked at the second write and uncorked
 * by a microtask queued at the first, or when a batch is full). A burst of concurrent publishes, or
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
 * Most commands one batched write carries. A burst of publishes is one long microtask checkpoint
 * (1,000 delayed publishes: 30–200 ms of client work): uncapped, all of it left in one write at the
 * end, Redis started executing only then, and the replies arrived over the 30–65 ms it took to run
 * them (raw BullMQ, which writes each command at once: 2–5 ms), delaying the first delayed start
 * after the burst (docs/performance.md, "Delayed-start lateness"). With the cap Redis works through
 * the burst while the client is still producing it; 32 commands per read keep the saving in reads.
 */
export const MAX_WRITES_PER_BATCH = 32;

/** Batches one node connection's writes, on every (re)connect (each reconnect opens a new socket). */
function batchNode(redis: Redis): void {
  const apply = () => {
    const stream = (redis as unknown as { stream?: CorkableStream }).stream;
    if (stream) corkAfterFirstWrite(stream, MAX_WRITES_PER_BATCH);
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
