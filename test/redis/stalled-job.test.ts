/**
 * A worker that dies mid-job (a child process SIGKILLed while its handler runs) does not lose the
 * job: once its BullMQ lock runs out, the stalled check of another node moves the job back to
 * waiting and that node handles it. A crash is not a failed attempt: `retried` stays 0. Lock
 * duration and stalled interval are shortened through the adapter options so this takes seconds.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deferred, randomName, within } from '../helpers.js';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';

const CHILD = fileURLToPath(new URL('./child-node.ts', import.meta.url));
const LOCK_DURATION_MS = 1_000;
const STALLED_INTERVAL_MS = 500;
const target = await resolveRedisUrl();

describe.skipIf('skip' in target)(`redis: stalled jobs${'skip' in target ? ` (skipped: ${target.skip})` : ''}`, () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckt');
  const name = randomName('st');
  const apps: App[] = [];
  const node = () => {
    const app = createApp({
      name,
      logger: silentLogger,
      adapters: createRedisAdapters({
        url,
        prefix,
        onError: () => {},
        eventQueue: { lockDurationMs: LOCK_DURATION_MS, stalledIntervalMs: STALLED_INTERVAL_MS },
      }),
    });
    apps.push(app);
    return app;
  };

  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.stop()));
    const client = new Redis(url);
    await deletePrefix(client, prefix);
    await client.quit();
    await ('stop' in target ? target.stop?.() : undefined);
  });

  it('redelivers the job of a worker process killed mid-job to another node', async () => {
    const taken = deferred<unknown>();
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        REDIS_URL: url,
        CK_PREFIX: prefix,
        CK_APP: name,
        CK_MODE: 'stall',
        CK_LOCK_DURATION_MS: String(LOCK_DURATION_MS),
        CK_STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m: { type: string; message?: unknown }) => {
      if (m.type === 'taken') taken.resolve(m.message);
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const producer = node();
      await producer.start();
      await producer.eventQueue.publish('work', { task: 'resize', n: 7 });
      expect(await within(taken.promise, 30_000, 'child taking the job')).toEqual({ task: 'resize', n: 7 });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    const redelivered = deferred<{ message: unknown; retried: number }>();
    const rescuer = node();
    await rescuer.eventQueue.subscribe('work', {
      process: (message, { retried }) => redelivered.resolve({ message, retried }),
    });
    await rescuer.start();
    const killedAt = Date.now();
    expect(await within(redelivered.promise, 30_000, 'redelivery')).toEqual({
      message: { task: 'resize', n: 7 },
      retried: 0,
    });
    console.info(
      `[measured] redelivered ${Date.now() - killedAt} ms after the kill (lock ${LOCK_DURATION_MS} ms, stalled check every ${STALLED_INTERVAL_MS} ms)`,
    );
  }, 60_000);
});
