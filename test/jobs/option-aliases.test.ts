/**
 * One option vocabulary: `eventQueue.publish` and `managedQueue.enqueue` both accept `delay` |
 * `delayMs`, `backoff` | `backoffMs` and `maxRetries` | `attempts` (= maxRetries + 1); the two names of
 * one option given with different values are refused with `INVALID_OPTION` at the call.
 */
import { createApp, silentLogger, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferred, within } from '../helpers.js';

describe('option aliases', () => {
  let app: App;
  beforeEach(async () => {
    app = createApp({ name: 'aliases', logger: silentLogger });
    await app.start();
  });
  afterEach(async () => {
    await app.stop();
  });
  const job = { pluginName: 'p', queueName: 'q', jobName: 'j', payload: null };

  it('managedQueue.enqueue takes both spellings and shows one canonical set of options', async () => {
    const a = await app.managedQueue.enqueue({ ...job, delay: 60_000, maxRetries: 2, backoff: 50 });
    const b = await app.managedQueue.enqueue({ ...job, delayMs: 60_000, attempts: 3, backoffMs: 50 });
    const same = await app.managedQueue.enqueue({ ...job, delay: 60_000, delayMs: 60_000, attempts: 3, maxRetries: 2 });
    for (const { jobId } of [a, b, same]) {
      expect((await app.managedQueue.getJob(jobId))!.options).toMatchObject({
        attempts: 3,
        delayMs: 60_000,
      });
    }
    expect((await app.managedQueue.getJob(a.jobId))!.options.backoff).toEqual({
      type: 'fixed',
      delay: 50,
      maxDelay: 50,
      jitter: 0,
    });
    for (const bad of [
      { delay: 1, delayMs: 2 },
      { attempts: 3, maxRetries: 3 },
      { backoff: 10, backoffMs: { type: 'fixed', delay: 20 } },
    ]) {
      await expect(app.managedQueue.enqueue({ ...job, ...bad } as never)).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
    }
  });

  it('eventQueue.publish takes both spellings too', async () => {
    const got = deferred<{ retried: number }>();
    let calls = 0;
    await app.eventQueue.subscribe('aliases', {
      process(_message, ctx) {
        calls += 1;
        if (calls < 3) throw new Error('again');
        got.resolve({ retried: ctx.retried });
      },
    });
    await app.eventQueue.publish('aliases', 1, { delayMs: 5, attempts: 3, backoffMs: 1 });
    expect(await within(got.promise, 10_000, 'third attempt')).toEqual({ retried: 2 });
    for (const bad of [
      { delay: 1, delayMs: 2 },
      { maxRetries: 1, attempts: 3 },
      { backoff: 1, backoffMs: 2 },
    ]) {
      await expect(app.eventQueue.publish('aliases', 1, bad)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    await expect(app.eventQueue.publish('aliases', 1, { attempts: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});
