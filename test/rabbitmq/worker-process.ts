/**
 * A cluster node in its own OS process, for the multi-process and crash tests. Started by
 * `startWorker()` (test/rabbitmq/broker.ts) as `node --import tsx test/rabbitmq/worker-process.ts`.
 *
 * Environment: `AMQP_URL`, `CK_PREFIX` (topology prefix and connection name), `CK_APP` (app name),
 * `CK_CHANNEL` (event-queue channel), `CK_MODE` (`work`: handle and report; `hang`: report the
 * message and never finish it), `CK_PUBSUB` (optional pub/sub channel to listen on).
 *
 * Stdout protocol, one line each: `READY`, `RUNNING <json>`, `HANDLED <json>`, `HEARD <json>`,
 * `STOPPED`. SIGTERM stops the app gracefully, then exits.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`worker-process: ${name} is not set`);
  return value;
};

const prefix = env('CK_PREFIX');
const mode = env('CK_MODE');
const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters: createRabbitMQAdapters({ url: env('AMQP_URL'), prefix, connectionName: prefix, logger: silentLogger }),
});

const say = (line: string) => process.stdout.write(`${line}\n`);

await app.eventQueue.subscribe(env('CK_CHANNEL'), {
  concurrency: 4,
  async process(message) {
    if (mode === 'hang') {
      say(`RUNNING ${JSON.stringify(message)}`);
      await new Promise(() => {});
    }
    say(`HANDLED ${JSON.stringify(message)}`);
  },
});
const pubsub = process.env.CK_PUBSUB;
if (pubsub) await app.pubSubManager.subscribe(pubsub, (message) => say(`HEARD ${JSON.stringify(message)}`));
await app.start();
say('READY');

process.on('SIGTERM', () => {
  app
    .stop()
    .then(() => {
      say('STOPPED');
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    });
});
