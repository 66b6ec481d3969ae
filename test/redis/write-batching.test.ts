/**
 * Write batching on the Redis command connection (`corkAfterFirstWrite`): a command alone leaves at
 * once, without waiting for the end of the microtask checkpoint; the commands written after it in
 * the same checkpoint leave together in one more write, in order.
 */
import { describe, expect, it } from 'vitest';
import { corkAfterFirstWrite } from '../../adapters/shared/cork-writes.js';
import { MAX_HOLD_MS } from '../../adapters/redis/write-batching.js';
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

  it(`sends the held commands of a long checkpoint after ${MAX_HOLD_MS} ms, not at its end`, async () => {
    // A burst of 1,000 publishes is one microtask checkpoint of ~30-200 ms: held to its end, Redis
    // started executing the adds only then, and their replies came 30-65 ms after the last one.
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream, MAX_HOLD_MS);
    stream.write('A');
    stream.write('B');
    const start = performance.now();
    while (performance.now() - start < MAX_HOLD_MS + 1) {
      // the checkpoint's work goes on
    }
    stream.write('C');
    // Synchronously, before the checkpoint ends: B waited long enough, so B and C left.
    expect(writes).toEqual([['A'], ['B', 'C']]);
    stream.write('D');
    await Promise.resolve();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(writes).toEqual([['A'], ['B', 'C'], ['D']]);
  });

  it('is applied once per stream', () => {
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream);
    corkAfterFirstWrite(stream);
    stream.write('X');
    expect(writes).toEqual([['X']]);
  });
});
