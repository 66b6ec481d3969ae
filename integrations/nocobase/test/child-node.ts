/**
 * One NocoBase node in its own OS process, driven over IPC by kill.test.ts. Run with
 * `node --import tsx --import ./test/resolve-nocobase.mjs`. Environment: CK_DB, CK_PREFIX,
 * CK_CLUSTER, CK_BACKEND (redis | rabbitmq), CK_LEASE_MS (worker-id lease).
 * It handles the `work` channel: reports `taken` for each message, and hangs (never finishes) on
 * messages marked `hang` until told `no-hang` — so a test can kill it with a message in flight.
 */
import { createRedisAdapters } from 'clusterkit/redis';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { startNode, type Backend } from './nocobase-node.js';
import { AMQP_URL, REDIS_URL } from './services.js';

type Command = { type: 'publish'; message: unknown } | { type: 'no-hang' } | { type: 'stop' };

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const send = (message: Record<string, unknown>) => process.send?.(message);

const prefix = env('CK_PREFIX');
// Short BullMQ locks: a killed node's job is found stalled and handed to another node within seconds.
const redis = () =>
  createRedisAdapters({
    url: REDIS_URL,
    prefix,
    onError: () => {},
    eventQueue: { keepCompleted: { count: 0 }, lockDurationMs: 2_000, stalledIntervalMs: 1_000 },
  });
const backend: Backend =
  env('CK_BACKEND') === 'rabbitmq'
    ? {
        label: 'rabbitmq',
        rabbit: true,
        adapters: () => ({ ...redis(), ...createRabbitMQAdapters({ url: AMQP_URL, prefix }) }),
      }
    : { label: 'redis', rabbit: false, adapters: redis };

let hang = true;
const node = await startNode({
  database: env('CK_DB'),
  backend,
  prefix,
  cluster: env('CK_CLUSTER'),
  bridge: { workerId: { lease: Number(env('CK_LEASE_MS')) } },
});
node.app.eventQueue.subscribe('work', {
  idle: () => true,
  process: async (message: { n: number; hang?: boolean }, ctx) => {
    send({ type: 'taken', n: message.n, retried: ctx.retried });
    if (message.hang && hang) await new Promise(() => {});
    send({ type: 'done', n: message.n });
  },
});
process.on('message', (command: Command) => {
  if (command.type === 'publish')
    void node.app.eventQueue.publish('work', command.message).then(() => send({ type: 'published' }));
  else if (command.type === 'no-hang') hang = false;
  else if (command.type === 'stop') void node.stop().then(() => process.exit(0));
});
send({ type: 'ready', workerId: node.installation.workerId, pid: process.pid });
