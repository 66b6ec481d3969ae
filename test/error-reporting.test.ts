/**
 * How failures are classified and logged: validation errors say `retryable: false` (no retry can
 * fix bad input), and a handler failure that will be retried is an expected event — with an
 * `error` listener on the app it is logged at info, one line without a stack; without a listener
 * it stays an error, so nothing goes unseen.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterError, createApp, ErrorCodes, type App, type Logger } from 'clusterkit';
import { deferred, within } from './helpers.js';

interface Line {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    void lines.push({ level, message, ...(meta ? { meta } : {}) });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('validation errors are not retryable', () => {
  it('every input-error code defaults to retryable: false; others stay retryable', async () => {
    for (const code of [
      'INVALID_NAME',
      'INVALID_PAYLOAD',
      'PAYLOAD_TOO_LARGE',
      'INVALID_OPTION',
      'UNKNOWN_OPTION',
      'INVALID_ARGUMENT',
      'NOT_SUPPORTED',
    ] as const) {
      expect(new ClusterError(ErrorCodes[code], 'x').retryable).toBe(false);
    }
    expect(new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, 'x').retryable).toBe(true);
    expect(new ClusterError(ErrorCodes.INVALID_OPTION, 'x', { retryable: true }).retryable).toBe(true);
  });

  it('what the API refuses carries retryable: false', async () => {
    const app = createApp({ name: 'retryable' });
    await app.start();
    try {
      await expect(app.eventQueue.publish('', 1)).rejects.toMatchObject({ code: 'INVALID_NAME', retryable: false });
      await expect(app.eventQueue.publish('c', 1, { delay: -1 })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
        retryable: false,
      });
      await expect(
        app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: () => 1 } as never),
      ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD', retryable: false });
    } finally {
      await app.stop();
    }
  });

  it('a handler that throws a validation error is dead-lettered at once, not retried', async () => {
    const app = createApp({ name: 'retryable-dlq', logger: recordingLogger([]) });
    await app.start();
    try {
      let calls = 0;
      app.on('error', () => {});
      await app.eventQueue.subscribe('strict', {
        maxRetries: 5,
        backoff: 1,
        process: async () => {
          calls += 1;
          // e.g. a handler re-publishing with a bad option: retrying cannot make it valid.
          await app.eventQueue.publish('strict', 1, { priority: -1 });
        },
      });
      await app.eventQueue.publish('strict', 1);
      await vi.waitFor(async () => expect((await app.eventQueue.counts('strict')).dead).toBe(1), {
        timeout: 10_000,
        interval: 10,
      });
      expect(calls).toBe(1);
    } finally {
      await app.stop();
    }
  });
});

describe('an expected retry is logged at info', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function failOnceThenSucceed(withListener: boolean): Promise<Line[]> {
    const lines: Line[] = [];
    app = createApp({ name: 'retry-log', logger: recordingLogger(lines) });
    const errors: Error[] = [];
    if (withListener) app.on('error', (error) => void errors.push(error));
    await app.start();
    const done = deferred<void>();
    let calls = 0;
    await app.eventQueue.subscribe('flaky', {
      backoff: 1,
      process: async () => {
        calls += 1;
        if (calls === 1) throw new Error('upstream 503');
        done.resolve();
      },
    });
    await app.eventQueue.publish('flaky', 1);
    await within(done.promise, 10_000, 'the retry');
    if (withListener) expect(errors.map((e) => e.message)).toEqual(['upstream 503']);
    return lines;
  }

  it('with an error listener: one info line, no stack, no error line', async () => {
    const lines = await failOnceThenSucceed(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    const info = lines.filter((l) => l.level === 'info' && l.message.includes('upstream 503'));
    expect(info).toHaveLength(1);
    expect(info[0]!.message).toBe('upstream 503 (will retry)');
    expect(info[0]!.meta).toMatchObject({ channel: 'flaky', outcome: 'retry', error: { message: 'upstream 503' } });
    expect(info[0]!.meta!.error).not.toBeInstanceOf(Error);
    expect(JSON.stringify(info[0]!.meta)).not.toContain('at ');
  });

  it('without an error listener it stays an error (nothing goes unseen)', async () => {
    const lines = await failOnceThenSucceed(false);
    const error = lines.filter((l) => l.level === 'error');
    expect(error).toHaveLength(1);
    expect(error[0]!.meta!.error).toBeInstanceOf(Error);
  });
});
