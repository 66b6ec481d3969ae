/**
 * Write batching on the RabbitMQ connection (`corkPerMicrotask` with a cap): the writes of one
 * microtask checkpoint leave together, in order, at most `MAX_WRITES_PER_BATCH` per system call —
 * an unbounded batch of pub/sub publishes cost the broker more than it saved
 * (docs/performance.md, "Pub/sub throughput on RabbitMQ").
 */
import { describe, expect, it } from 'vitest';
import { MAX_WRITES_PER_BATCH } from '../../adapters/rabbitmq/write-batching.js';
import { corkPerMicrotask } from '../../adapters/shared/cork-writes.js';
import { recordingStream } from '../recording-stream.js';


const checkpoint = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RabbitMQ write batching', () => {
  it('sends the writes of one checkpoint together, in order', async () => {
    const { stream, writes } = recordingStream();
    corkPerMicrotask(stream, MAX_WRITES_PER_BATCH);
    for (const w of ['A', 'B', 'C']) stream.write(w);
    await checkpoint();
    expect(writes).toEqual([['A', 'B', 'C']]);
  });

  it(`sends a large burst in batches of at most ${MAX_WRITES_PER_BATCH}, nothing lost or reordered`, async () => {
    const { stream, writes } = recordingStream();
    corkPerMicrotask(stream, MAX_WRITES_PER_BATCH);
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    for (const w of sent) stream.write(w);
    await checkpoint();
    expect(writes.length).toBeGreaterThan(1);
    for (const batch of writes) expect(batch.length).toBeLessThanOrEqual(MAX_WRITES_PER_BATCH);
    expect(writes.flat()).toEqual(sent);
  });

  it('without a cap, a burst leaves in one system call', async () => {
    const { stream, writes } = recordingStream();
    corkPerMicrotask(stream);
    for (let i = 0; i < 100; i += 1) stream.write(`m${i}`);
    await checkpoint();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(100);
  });
});
