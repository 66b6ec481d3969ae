/**
 * Which managed-job engine an app runs on Redis: `createRedisAdapters({ managedJobs: { engine } })`
 * (`'native'` by default, `'records'` on request, anything else refused), and the pairing rule — the
 * native engine only when the app's event queue is the same Redis set's event queue. A mixed set
 * (RabbitMQ's event queue with Redis's rest, by spread or by pick) runs the record engine: its jobs
 * have records in Redis (`<prefix>:mq:{<app>}:J:<id>`) and no native keys (`<prefix>:nj:…`).
 * `adaptersFromEnv` carries the Redis set's engine, so an env-configured Redis app runs native.
 */
import {
  adaptersFromEnv,
  createApp,
  ErrorCodes,
  silentLogger,
  type App,
  type ClusterAdapters,
  type ClusterError,
} from 'clusterkit';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createRedisAdapters, type RedisAdaptersOptions } from 'clusterkit/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteTopology, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { deletePrefix, resolveRedisUrl, scanKeys } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

const optionError = (options: RedisAdaptersOptions): ClusterError => {
  try {
    createRedisAdapters(options);
  } catch (error) {
    return error as ClusterError;
  }
  throw new Error('createRedisAdapters did not throw');
};

describe('createRedisAdapters: managedJobs.engine', () => {
  it("defaults to 'native': the set offers the native engine, paired with its own event queue", () => {
    for (const options of [{}, { managedJobs: {} }, { managedJobs: { engine: 'native' as const } }]) {
      const set = createRedisAdapters(options);
      expect(set.managedJobEngine).toBeTypeOf('function');
      expect(set.managedJobEngine!.eventQueue).toBe(set.eventQueue);
    }
    const timed = createRedisAdapters({ managedJobs: { lockDurationMs: 2_000, stalledIntervalMs: 3_000 } });
    expect(timed.managedJobEngine!.eventQueue).toBe(timed.eventQueue);
  });

  it("'records' selects the record engine: no native engine, the Redis job store", () => {
    const set = createRedisAdapters({ managedJobs: { engine: 'records' } });
    expect(set.managedJobEngine).toBeUndefined();
    expect(set.jobStore).toBeTypeOf('function');
  });

  it("refuses any other engine (the old 'default' included), naming both values", () => {
    for (const engine of ['default', 'bullmq', 42]) {
      const error = optionError({ managedJobs: { engine } as unknown as RedisAdaptersOptions['managedJobs'] });
      expect(error.code).toBe(ErrorCodes.INVALID_OPTION);
      expect(error.message).toContain("'native'");
      expect(error.message).toContain("'records'");
      expect(error.details).toMatchObject({ option: 'managedJobs.engine' });
    }
    expect(optionError({ managedJobs: { engine: 'default' as 'native' } }).message).toMatch(/'default' is gone/);
  });

  it("refuses the native engine's timings with 'records' (they would do nothing)", () => {
    for (const timing of [{ lockDurationMs: 2_000 }, { stalledIntervalMs: 3_000 }]) {
      const error = optionError({ managedJobs: { engine: 'records', ...timing } });
      expect(error.code).toBe(ErrorCodes.INVALID_OPTION);
      expect(error.message).toContain(`managedJobs.${Object.keys(timing)[0]}`);
      expect(error.message).toContain("'native' only");
    }
    expect(optionError({ managedJobs: { lockDurationMs: -1 } }).code).toBe(ErrorCodes.INVALID_OPTION);
  });
});

const redis = await resolveRedisUrl();
const amqp = await resolveAmqpUrl();

describe.skipIf('skip' in redis || 'skip' in amqp)('the pairing rule on Redis (and RabbitMQ)', () => {
  const redisUrl = 'url' in redis ? redis.url : '';
  const amqpUrl = 'url' in amqp ? amqp.url : '';
  const raw = new Redis(redisUrl, { lazyConnect: true });
  let apps: App[] = [];
  let prefixes: string[] = [];
  /** RabbitMQ adapters made by the case (their queues and exchange are deleted after it). */
  let rabbits: Partial<ReturnType<typeof createRabbitMQAdapters>>[] = [];

  afterEach(async () => {
    await Promise.allSettled(apps.map((app) => app.stop()));
    for (const prefix of prefixes) await deletePrefix(raw, prefix);
    const queues = rabbits.flatMap((r) => [
      ...(r.eventQueue?.touchedQueues ?? []),
      ...(r.pubSub ? [r.pubSub.nodeQueue] : []),
    ]);
    const exchanges = rabbits.flatMap((r) => (r.pubSub ? [r.pubSub.exchange] : []));
    if (rabbits.length > 0) await deleteTopology(amqpUrl, queues, exchanges);
    apps = [];
    prefixes = [];
    rabbits = [];
  });
  afterAll(async () => {
    raw.disconnect();
    await ('stop' in redis ? redis.stop?.() : undefined);
    await ('stop' in amqp ? amqp.stop?.() : undefined);
  });

  const prefixed = (): string => {
    const prefix = randomName('ckec');
    prefixes.push(prefix);
    return prefix;
  };
  const rabbit = (prefix: string) => {
    const set = createRabbitMQAdapters({ url: amqpUrl, prefix, logger: silentLogger });
    rabbits.push(set);
    return set;
  };

  /** Runs one job on an app of `adapters`; resolves with the engine its keys show. */
  async function engineOf(adapters: ClusterAdapters, prefix: string): Promise<'native' | 'records'> {
    const name = randomName('ec');
    const app = createApp({ name, logger: silentLogger, adapters });
    apps.push(app);
    const job = { pluginName: 'p', queueName: 'q', jobName: 'j' };
    await app.managedQueue.process(job, (j) => ({ echoed: j.data }));
    await app.start();
    const { jobId } = await app.managedQueue.enqueue({ ...job, payload: 7 });
    await expect(app.managedQueue.waitForJob(jobId, { timeoutMs: 15_000 })).resolves.toEqual({ echoed: 7 });
    expect(await app.managedQueue.getJob(jobId)).toMatchObject({ state: 'completed' });
    const records = await scanKeys(raw, `${prefix}:mq:*:J:*`);
    const native = await scanKeys(raw, `${prefix}:nj:*`);
    if (records.length > 0 && native.length === 0) return 'records';
    if (native.length > 0 && records.length === 0) return 'native';
    throw new Error(`both engines wrote keys: ${records.length} records, ${native.length} native`);
  }

  it('a plain Redis set runs the native engine', async () => {
    const prefix = prefixed();
    expect(await engineOf(createRedisAdapters({ url: redisUrl, prefix, onError: () => {} }), prefix)).toBe('native');
  });

  it("managedJobs: { engine: 'records' } runs the record engine", async () => {
    const prefix = prefixed();
    const adapters = createRedisAdapters({
      url: redisUrl,
      prefix,
      onError: () => {},
      managedJobs: { engine: 'records' },
    });
    expect(await engineOf(adapters, prefix)).toBe('records');
  });

  it("a Redis set spread with RabbitMQ's event queue runs the record engine (tickets on RabbitMQ)", async () => {
    const prefix = prefixed();
    const adapters = {
      // The engine named explicitly: the pairing rule, not the option, decides.
      ...createRedisAdapters({ url: redisUrl, prefix, onError: () => {}, managedJobs: { engine: 'native' } }),
      eventQueue: rabbit(prefix).eventQueue,
    };
    expect(adapters.managedJobEngine).toBeDefined();
    expect(await engineOf(adapters, prefix)).toBe('records');
  });

  it("RabbitMQ's event queue and pub/sub with the rest of a Redis set (engine included) runs the record engine", async () => {
    const prefix = prefixed();
    const { lock, cache, jobStore, managedJobEngine } = createRedisAdapters({
      url: redisUrl,
      prefix,
      onError: () => {},
    });
    const { eventQueue, pubSub } = rabbit(prefix);
    expect(await engineOf({ eventQueue, pubSub, lock, cache, jobStore, managedJobEngine }, prefix)).toBe('records');
  });

  it("another Redis set's event queue does not pair either", async () => {
    const prefix = prefixed();
    const mine = createRedisAdapters({ url: redisUrl, prefix, onError: () => {} });
    const other = createRedisAdapters({ url: redisUrl, prefix, onError: () => {} });
    expect(await engineOf({ ...mine, eventQueue: other.eventQueue }, prefix)).toBe('records');
  });

  it('adaptersFromEnv: a Redis app runs native; with the event queue on RabbitMQ, the record engine', async () => {
    const onRedis = prefixed();
    const redisEnv = { CLUSTERKIT_ADAPTER: 'redis', REDIS_URL: redisUrl, CLUSTERKIT_REDIS_PREFIX: onRedis };
    const fromEnv = await adaptersFromEnv(redisEnv);
    expect(fromEnv.managedJobEngine?.eventQueue).toBe(fromEnv.eventQueue);
    expect(await engineOf(fromEnv, onRedis)).toBe('native');

    const mixed = prefixed();
    const mixedEnv = {
      CLUSTERKIT_ADAPTER: 'redis',
      CLUSTERKIT_EVENT_QUEUE_ADAPTER: 'rabbitmq',
      REDIS_URL: redisUrl,
      AMQP_URL: amqpUrl,
      CLUSTERKIT_REDIS_PREFIX: mixed,
    };
    const fromMixedEnv = await adaptersFromEnv(mixedEnv);
    rabbits.push({ eventQueue: fromMixedEnv.eventQueue as ReturnType<typeof createRabbitMQAdapters>['eventQueue'] });
    expect(fromMixedEnv.managedJobEngine).toBeDefined();
    expect(await engineOf(fromMixedEnv, mixed)).toBe('records');
  });

  it('adaptersFromEnv: CLUSTERKIT_MANAGED_JOBS_ENGINE=records runs the record engine; a bad value is refused', async () => {
    const prefix = prefixed();
    const env = { CLUSTERKIT_ADAPTER: 'redis', REDIS_URL: redisUrl, CLUSTERKIT_REDIS_PREFIX: prefix };
    const fromEnv = await adaptersFromEnv({ ...env, CLUSTERKIT_MANAGED_JOBS_ENGINE: 'records' });
    expect(fromEnv.managedJobEngine).toBeUndefined();
    expect(await engineOf(fromEnv, prefix)).toBe('records');
    await expect(adaptersFromEnv({ ...env, CLUSTERKIT_MANAGED_JOBS_ENGINE: 'default' })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
  });
});
