/** The runner's per-job abort state (src/lazy-abort.ts): the same answers as an AbortController, its signal made on first read. */
import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../../src/lazy-abort.js';

describe('LazyAbort', () => {
  it('a signal read after the abort is already aborted, with the first reason', () => {
    const state = new LazyAbort();
    const first = new Error('first');
    state.abort(first);
    state.abort(new Error('second'));
    expect(state.aborted).toBe(true);
    expect(state.reason).toBe(first);
    expect(state.signal.aborted).toBe(true);
    expect(state.signal.reason).toBe(first);
  });

  it('a signal read before the abort is aborted by it (listeners run), and stays the same object', () => {
    const state = new LazyAbort();
    const signal = state.signal;
    expect(signal.aborted).toBe(false);
    let heard: unknown;
    signal.addEventListener('abort', () => (heard = signal.reason));
    const reason = new Error('stop');
    state.abort(reason);
    expect(heard).toBe(reason);
    expect(state.signal).toBe(signal);
  });

  it('an abort without a reason reads like AbortController’s (an AbortError on the signal)', () => {
    const state = new LazyAbort();
    state.abort(undefined);
    expect(state.aborted).toBe(true);
    expect((state.signal.reason as Error).name).toBe('AbortError');
  });

  it('onAbort listeners hear the first abort once, after the signal; a stopped one hears nothing', () => {
    const state = new LazyAbort();
    const heard: string[] = [];
    const signal = state.signal;
    signal.addEventListener('abort', () => heard.push('signal'));
    state.onAbort((reason) => heard.push(`first:${(reason as Error).message}`));
    const stop = state.onAbort(() => heard.push('stopped'));
    stop();
    state.abort(new Error('a'));
    state.abort(new Error('b'));
    expect(heard).toEqual(['signal', 'first:a']);
    expect(state.onAbort(() => heard.push('late'))).toBeTypeOf('function');
    expect(heard).toHaveLength(2);
  });

  it('an abort with no listener and no signal read makes no signal', () => {
    const state = new LazyAbort();
    state.abort(new Error('x'));
    expect((state as unknown as { controller?: AbortController }).controller).toBeUndefined();
  });
});
