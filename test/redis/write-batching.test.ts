/**
 * Write batching on the Redis command connection (`corkAfterFirstWrite`): a command alone leaves at
 * once, without waiting for the end of the microtask checkpoint; the commands written after it in
 * the same checkpoint leave together in one more write, in order.
 */
import { describe, expect, it } from 'vitest';
import { corkAfterFirstWrite } from '../../adapters/shared/cork-writes.js';
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

  it('is applied once per stream', () => {
    const { stream, writes } = recordingStream();
    corkAfterFirstWrite(stream);
    corkAfterFirstWrite(stream);
    stream.write('X');
    expect(writes).toEqual([['X']]);
  });
});
