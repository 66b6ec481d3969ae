/**
 * Nodes of one managed-jobs test of the record engine on Redis (`managedJobs: { engine: 'records' }`): apps under a random key prefix (one per `describe`
 * block), a plain client on the same server, and the teardown that stops every app made, removes
 * the prefix's keys and stops a container the target started.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, type RedisTarget } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

/** What the block's tests use; `raw` is set once `beforeAll` has run. */
export interface ManagedNodes {
  readonly prefix: string;
  raw: Redis;
  /** A node (not started) of app `name`; `worker: false` runs no managed-job worker. */
  node(name: string, worker: boolean): App;
}

/** Registers the block's setup and teardown; returns the nodes its tests make. */
export function managedNodes(target: RedisTarget, tag: string): ManagedNodes {
  const url = 'url' in target ? target.url : '';
  const apps: App[] = [];
  const nodes: ManagedNodes = {
    prefix: randomName(tag),
    raw: undefined as unknown as Redis,
    node(name, worker) {
      const app = createApp({
        name,
        logger: silentLogger,
        managedQueue: { worker },
        // The record engine: these tests read its records and tickets.
        adapters: createRedisAdapters({
          url,
          prefix: nodes.prefix,
          onError: () => {},
          managedJobs: { engine: 'records' },
        }),
      });
      apps.push(app);
      return app;
    },
  };
  beforeAll(() => {
    nodes.raw = new Redis(url);
  });
  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.stop()));
    await deletePrefix(nodes.raw, nodes.prefix);
    await nodes.raw.quit();
    await ('stop' in target ? target.stop?.() : undefined);
  });
  return nodes;
}
