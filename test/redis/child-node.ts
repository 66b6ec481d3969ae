/**
 * One clusterkit node in its own OS process, driven over IPC by the multi-process and stalled-job
 * tests (run with `node --import tsx`). Environment: REDIS_URL, CK_PREFIX, CK_APP, CK_MODE
 * (`multi`: handle queue messages, pub/sub and lock rounds; `stall`: take one message and hang),
 * CK_LOCK_DURATION_MS / CK_STALLED_INTERVAL_MS (BullMQ tuning).
 */
import { Redis } from 'ioredis';
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';

type Command = { type: 'lock'; rounds: number } | { type: 'stop' };

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const send = (message: Record<string, unknown>) => process.send?.(message);

const url = env('REDIS_URL');
const prefix = env('CK_PREFIX');
const mode = env('CK_MODE');
const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters: createRedisAdapters({
    url,
    prefix,
    onError: () => {},
    eventQueue: {
      lockDurationMs: Number(process.env.CK_LOCK_DURATION_MS ?? 30_000),
      stalledIntervalMs: Number(process.env.CK_STALLED_INTERVAL_MS ?? 30_000),
    },
  }),
});

if (mode === 'stall') {
  await app.eventQueue.subscribe('work', {
    process: (message) => {
      send({ type: 'taken', message });
      return new Promise<never>(() => {}); // hangs until the parent kills this process
    },
  });
} else {
  await app.eventQueue.subscribe('jobs', {
    concurrency: 8,
    process: (message) => {
      send({ type: 'handled', id: (message as { id: number }).id });
    },
  });
  await app.pubSubManager.subscribe('news', (message) => {
    send({ type: 'news', message });
  });
}

// Raw Redis for the lock checks: a critical-section occupancy counter and a read-modify-write total.
const raw = new Redis(url);
const inside = `${prefix}:test:inside`;
const total = `${prefix}:test:total`;

async function lockRounds(rounds: number): Promise<void> {
  let overlaps = 0;
  for (let i = 0; i < rounds; i += 1) {
    await app.lockManager.runExclusive('shared-counter', async () => {
      if ((await raw.incr(inside)) !== 1) overlaps += 1;
      const value = Number((await raw.get(total)) ?? 0);
      await new Promise((r) => setImmediate(r)); // let the others run while "holding" the value
      await raw.set(total, String(value + 1));
      await raw.decr(inside);
    });
  }
  send({ type: 'lock-done', overlaps });
}

process.on('message', (command: Command) => {
  if (command.type === 'lock') {
    lockRounds(command.rounds).catch((error: unknown) => send({ type: 'error', message: String(error) }));
  } else if (command.type === 'stop') {
    app
      .stop()
      .then(() => raw.quit())
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  }
});

await app.start();
send({ type: 'ready' });
