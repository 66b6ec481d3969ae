/**
 * One cluster node in its own OS process for the crash tests: it consumes an event-queue channel
 * on Redis (BullMQ) or RabbitMQ and records every handled job in a Redis ledger hash *before* its
 * handler resolves, so the ledger survives a SIGKILL and counts duplicates.
 *
 * Environment: CK_BACKEND (`redis` | `rabbitmq` | `postgres`), REDIS_URL (ledger, and the queue on
 * `redis`), AMQP_URL, DATABASE_URL, CK_PREFIX (the schema on `postgres`), CK_APP, CK_CHANNEL, CK_LEDGER (hash key), CK_CONCURRENCY, CK_WORK_MS,
 * CK_LOCK_DURATION_MS / CK_STALLED_INTERVAL_MS (BullMQ tuning; the lease and reap interval on PostgreSQL).
 * IPC in: `arm` (the next job started hangs until the process is killed: a guaranteed mid-job kill),
 * `stop`. IPC out: `ready`, `start {n}`, `held {n}`, `done {n}`.
 */
import { Redis } from 'ioredis';
import { createApp, silentLogger, type ClusterAdapters } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`queue-worker: ${name} is not set`);
  return value;
};
const send = (message: Record<string, unknown>) => process.send?.(message);

const redisUrl = env('REDIS_URL');
const prefix = env('CK_PREFIX');
const backend = env('CK_BACKEND');
const adapters: ClusterAdapters =
  backend === 'postgres'
    ? createPostgresAdapters({
        connectionString: env('DATABASE_URL'),
        schema: prefix,
        onError: () => {},
        eventQueue: {
          leaseMs: Number(process.env.CK_LOCK_DURATION_MS ?? 30_000),
          reapIntervalMs: Number(process.env.CK_STALLED_INTERVAL_MS ?? 5_000),
        },
      })
    : backend === 'redis'
      ? createRedisAdapters({
          url: redisUrl,
          prefix,
          onError: () => {},
          eventQueue: {
            lockDurationMs: Number(process.env.CK_LOCK_DURATION_MS ?? 30_000),
            stalledIntervalMs: Number(process.env.CK_STALLED_INTERVAL_MS ?? 30_000),
          },
        })
      : createRabbitMQAdapters({ url: env('AMQP_URL'), prefix, connectionName: prefix, logger: silentLogger });
const app = createApp({ name: env('CK_APP'), logger: silentLogger, adapters });
const ledger = new Redis(redisUrl);
const ledgerKey = env('CK_LEDGER');
const workMs = Number(process.env.CK_WORK_MS ?? 20);
let armed = false;

await app.eventQueue.subscribe(env('CK_CHANNEL'), {
  concurrency: Number(process.env.CK_CONCURRENCY ?? 2),
  async process(message: { n: number }) {
    send({ type: 'start', n: message.n });
    if (armed) {
      armed = false;
      send({ type: 'held', n: message.n });
      await new Promise<never>(() => {}); // until the parent's SIGKILL
    }
    // Simulated work: the window in which the parent's SIGKILL lands "mid-job".
    await new Promise((r) => setTimeout(r, workMs));
    await ledger.hincrby(ledgerKey, String(message.n), 1);
    send({ type: 'done', n: message.n });
  },
});
await app.start();
send({ type: 'ready', pid: process.pid });

process.on('message', (command: { type: string }) => {
  if (command.type === 'arm') armed = true;
  if (command.type !== 'stop') return;
  app
    .stop()
    .then(() => ledger.quit())
    .then(() => process.exit(0))
    .catch(() => process.exit(1));
});
