/**
 * Write batching on the Redis command connection (`corkAfterFirstWrite`): a command alone leaves at
 * once, without waiting for the end of the microtask checkpoint; the commands written after it in
 * the same checkpoint leave together in one more write, in order.
 */
import { describe, expect, it } from 'vitest';
import { corkAfterFirstWrite } from '../../adapters/shared/cork-writes.js';
import { MAX_WRITES_PER_BATCH } from '../../adapters/redis/write-batching.js';
import { recordingStream } from '../recording-stream.js';


describe('Redis write batching', () => {
  it('sends a command written alone at once, not at the end of the checkpoint', () => {
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream);
    stream.write('PING');
    // Synchronously: nothing waited for a microtask.
    expect(writes).toEqual([['PING']]);
  });

  it('sends the commands after the first one of a checkpoint together, in order', async () => {
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream);
    stream.write('A');
    stream.write('B');
    stream.write('C');
    expect(writes).toEqual([['A']]);
    await Promise.resolve();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(writes).toEqual([['A'], ['B', 'C']]);
    // The next checkpoint starts over: its first write leaves at once again.
    stream.write('D');
    expect(writes).toEqual([['A'], ['B', 'C'], ['D']]);
  });

  it(`sends a long checkpoint's commands every ${MAX_WRITES_PER_BATCH} writes, not all at its end`, async () => {
    // A burst of 1,000 publishes is one microtask checkpoint of ~30-200 ms: held to its end, Redis
    // started executing the adds only then, and their replies came 30-65 ms after the last one.
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream, MAX_WRITES_PER_BATCH);
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    for (const w of sent) stream.write(w);
    // Synchronously, before the checkpoint ends: the first write and every full batch are out.
    expect(writes.flat()).toEqual(sent.slice(0, 1 + 3 * MAX_WRITES_PER_BATCH));
    await Promise.resolve();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    for (const batch of writes) expect(batch.length).toBeLessThanOrEqual(MAX_WRITES_PER_BATCH);
    expect(writes.flat()).toEqual(sent);
  });

  it('is applied once per stream', () => {
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream);
    corkAfterFirstWrite(stream);
    stream.write('X');
    expect(writes).toEqual([['X']]);
  });
});
