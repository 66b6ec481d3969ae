/**
 * Batches the socket writes of an AMQP connection: every frame written in one run of the microtask
 * queue goes out in one system call (the socket is corked at the first write and uncorked by a
 * microtask queued behind it).
 *
 * amqplib writes each frame (a publish's method+header+body, an ack, a confirm-select) with its own
 * `socket.write`: its muxer drains the channels' frame buffers in one `setImmediate` callback, one
 * write per frame, so a burst of 500 publishes cost 500 system calls on the client and 500 reads on
 * the broker. Corked, the same burst leaves as one `writev`. Nothing waits for it: the microtask runs
 * right after the callback that wrote, so a frame alone is written in the same turn of the event
 * loop as before (same approach as adapters/redis/write-batching.ts).
 */
import type { ChannelModel } from 'amqplib';
import { corkPerMicrotask, type CorkableStream } from '../shared/cork-writes.js';

/**
 * Most writes one system call carries. Unlimited batches helped the event queue (confirmed
 * publishes and acks: broker CPU per message 45.5 against 54 µs unbatched) but cost the broker on
 * pub/sub (non-confirmed publishes to a `noAck` subscriber, ~67 per call: 28.8 against 22.2 µs, and
 * 0.72× against 0.83× raw fanout throughput). 32 keeps most of the first and none of the second
 * (docs/performance.md, "Pub/sub throughput on RabbitMQ").
 */
export const MAX_WRITES_PER_BATCH = 32;

/**
 * Batches the writes of `model`'s socket (each (re)connect of a recovering model is a new
 * connection with a new socket: call it for every one). Does nothing if amqplib's internals are not
 * where this expects them.
 */
export function batchWrites(model: ChannelModel): void {
  const stream = (model as unknown as { connection?: { stream?: CorkableStream } }).connection?.stream;
  if (stream) corkPerMicrotask(stream, MAX_WRITES_PER_BATCH);
}
