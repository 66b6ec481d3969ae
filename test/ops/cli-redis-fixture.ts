/**
 * A Redis-backed node in the test process for the CLI tests: it owns the `mail/outbox/send` handler
 * (failing payloads with `fail: true` while `fixed` is false); each CLI run is another node on the
 * same random prefix and app name. Under CI=true an unreachable Redis throws instead of skipping.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, redisAnswers } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { runCli, runCliJson, type CliResult } from './cli-process.js';

/** Where Redis is. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Whether it answered. */
export const redisReachable = await redisAnswers(redisUrl);
if (!redisReachable && process.env.CI === 'true') {
  throw new Error(`Redis does not answer at ${redisUrl} (CI=true: refusing to skip)`);
}

/** What a test gets from {@link useRedisNode}. */
export interface RedisNodeFixture {
  readonly app: App;
  /** Global flags pointing a CLI run at this node's cluster. */
  readonly flags: string[];
  /** While false, `mail` jobs with `fail: true` fail. */
  fixed: boolean;
  cli(...args: string[]): Promise<CliResult>;
  cliJson<T = any>(...args: string[]): Promise<T>;
  stateOf(jobId: string): Promise<string | undefined>;
  waitForState(jobId: string, state: string): Promise<void>;
}

/** Starts the node in `beforeAll` (after `setup`), stops it and deletes the prefix in `afterAll`. */
export function useRedisNode(setup?: (app: App) => Promise<void>): RedisNodeFixture {
  const prefix = randomName('ckops');
  const appName = randomName('shop');
  const flags = ['--redis-url', redisUrl, '--redis-prefix', prefix, '--app', appName];
  let app: App | undefined;
  const f: RedisNodeFixture = {
    get app() {
      return app!;
    },
    flags,
    fixed: false,
    cli: (...args) => runCli([...flags, ...args]),
    cliJson: (...args) => runCliJson([...flags, ...args]),
    stateOf: async (jobId) => (await app!.managedQueue.getJob(jobId))?.state,
    waitForState: (jobId, state) =>
      vi.waitFor(async () => expect(await f.stateOf(jobId)).toBe(state), { timeout: 20_000, interval: 50 }),
  };
  beforeAll(async () => {
    app = createApp({ name: appName, adapters: createRedisAdapters({ url: redisUrl, prefix }), logger: silentLogger });
    await app.managedQueue.process(
      { pluginName: 'mail', queueName: 'outbox', jobName: 'send', concurrency: 4 },
      async (job) => {
        await job.log(`sending to ${job.data.to}`);
        if (job.data.fail && !f.fixed) throw new Error(`smtp refused ${job.data.to}`);
        return { sent: job.data.to };
      },
    );
    await setup?.(app);
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    const client = new Redis(redisUrl);
    await deletePrefix(client, prefix);
    client.disconnect();
  });
  return f;
}
