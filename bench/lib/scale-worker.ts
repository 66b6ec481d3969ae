/**
 * One worker process of the scale-out case: an app on the Redis adapters (a single Redis or a
 * Redis Cluster) subscribed to the bench channel behind a closed `idle()` gate (its BullMQ worker and
 * connections are ready, but it takes nothing); `go` opens the gate, and it counts its handler calls.
 * Run as a forked child of the bench (`node --import tsx`); talks to the parent over IPC only:
 *
 *   child → parent  { type: 'ready' }                                   app started and subscribed
 *   parent → child  { type: 'go' }                                      start taking messages
 *   child → parent  { type: 'progress', count, lastAt }                 every few ms while busy
 *   parent → child  { type: 'stop' }                                    stop the app and exit
 *
 * `lastAt` is epoch ms with sub-millisecond precision (`performance.timeOrigin + performance.now()`),
 * comparable across the processes of one machine.
 */
import type { ClusterkitModules } from './clusterkit-loader.js';

interface WorkerConfig {
  /** File URL of the clusterkit bundle, or undefined for the sources. */
  readonly bundle?: string;
  readonly url?: string;
  readonly clusterNodes?: { host: string; port: number }[];
  readonly prefix: string;
  readonly appName: string;
  readonly channel: string;
  readonly concurrency: number;
}

const PROGRESS_EVERY_MS = 20;
const config = JSON.parse(process.env.CK_SCALE_WORKER ?? '{}') as WorkerConfig;
const send = (message: object) => process.send?.(message);

async function load(): Promise<ClusterkitModules> {
  if (config.bundle) return (await import(config.bundle)) as ClusterkitModules;
  return {
    core: await import('clusterkit'),
    redis: await import('clusterkit/redis'),
    rabbitmq: await import('clusterkit/rabbitmq'),
    postgres: await import('clusterkit/postgres'),
  };
}

const { core, redis } = await load();
const adapters = redis.createRedisAdapters({
  ...(config.clusterNodes ? { cluster: { nodes: config.clusterNodes } } : { url: config.url }),
  prefix: config.prefix,
  onError: () => {},
});
const app = core.createApp({ name: config.appName, logger: core.silentLogger, adapters, stopGracePeriodMs: 2_000 });
let go = false;
let count = 0;
let lastAt = 0;
let reported = -1;
const progress = setInterval(() => {
  if (count === reported) return;
  reported = count;
  send({ type: 'progress', count, lastAt });
}, PROGRESS_EVERY_MS);

await app.eventQueue.subscribe(config.channel, {
  concurrency: config.concurrency,
  idle: () => go,
  // Asked this often while closed, so the gate opens within ~2 ms of `go`.
  interval: 2,
  process: async () => {
    count += 1;
    lastAt = performance.timeOrigin + performance.now();
  },
});
await app.start();

process.on('message', (message: { type?: string }) => {
  if (message.type === 'go') {
    go = true;
  } else if (message.type === 'stop') {
    clearInterval(progress);
    void app
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  }
});
// The parent went away (crash, time limit): do not linger.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
