/**
 * Opens the Redis adapter's connections (and a plain client) under a random key prefix for the
 * `describe` block it is called in; closes them and removes the prefix's keys afterwards.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { bullPrefix, bullQueueName } from '../../adapters/redis/bull-names.js';
import { RedisConnections } from '../../adapters/redis/connection.js';
import { QueuePublisher } from '../../adapters/redis/queue-publisher.js';
import { resolveQueueOptions } from '../../adapters/redis/redis-event-queue-options.js';
import { TolerantQueue } from '../../adapters/redis/tolerant-job.js';
import { deletePrefix } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

/** What a test of the block uses; `raw` and `connections` are set once `beforeAll` has run. */
export interface ConnectionsFixture {
  readonly prefix: string;
  raw: Redis;
  connections: RedisConnections;
}

/** Registers the block's setup and teardown; returns the fixture its tests read. */
export function connectionsFixture(url: string, tag: string): ConnectionsFixture {
  const fixture = { prefix: randomName(tag) } as ConnectionsFixture;
  beforeAll(async () => {
    fixture.raw = new Redis(url);
    fixture.connections = new RedisConnections({ url }, fixture.prefix);
    await fixture.connections.open();
  });
  afterAll(async () => {
    await fixture.connections.release();
    await deletePrefix(fixture.raw, fixture.prefix);
    await fixture.raw.quit();
  });
  return fixture;
}

/**
 * A ready BullMQ queue for `queue` on the fixture's command connection, and a publisher with the
 * default options (`wrapAdds: false` builds it without the wrapped add scripts, the fallback).
 */
export async function queuePublisher(
  fixture: ConnectionsFixture,
  queue: string,
  wrapAdds = true,
): Promise<{ q: TolerantQueue; publisher: QueuePublisher }> {
  const q = new TolerantQueue(bullQueueName(queue), {
    connection: fixture.connections.command,
    prefix: bullPrefix(fixture.prefix),
  });
  await q.waitUntilReady();
  const publisher = new QueuePublisher(
    fixture.connections,
    resolveQueueOptions({}, () => {}),
    wrapAdds,
  );
  return { q, publisher };
}
