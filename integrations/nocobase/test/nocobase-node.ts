/**
 * One NocoBase node for the tests: a real, unmodified `Application` from `@nocobase/server` on a
 * test database, with the bridge installed right after construction, exactly as docs/nocobase.md
 * tells an operator to do. Also the backends (Redis; RabbitMQ + Redis for locks) and a test plugin
 * that records the sync messages it handles.
 */
import { Application, Plugin } from '@nocobase/server';
import type { ClusterAdapters } from 'clusterkit';
import { installClusterkit, type ClusterkitInstallation, type InstallClusterkitOptions } from 'clusterkit/nocobase';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createRedisAdapters } from 'clusterkit/redis';
import { AMQP_URL, PG, REDIS_URL } from './services.js';

/** A backend the bridge runs on: how one node gets its adapters. */
export interface Backend {
  readonly label: string;
  /** Adapters of one node; `prefix` namespaces the Redis keys (and RabbitMQ queues). */
  adapters(prefix: string): ClusterAdapters;
  /** Whether the queue and pub/sub run on RabbitMQ. */
  readonly rabbit: boolean;
}

export const redisBackend: Backend = {
  label: 'redis',
  rabbit: false,
  adapters: (prefix) => redisAdapters(prefix),
};

/** Redis adapters as docs/nocobase.md recommends for NocoBase: a finished message leaves nothing behind. */
function redisAdapters(prefix: string) {
  return createRedisAdapters({
    url: REDIS_URL,
    prefix,
    onError: () => {},
    eventQueue: { keepCompleted: { count: 0 } },
  });
}

export const rabbitmqBackend: Backend = {
  label: 'rabbitmq + redis locks',
  rabbit: true,
  adapters: (prefix) => ({
    ...redisAdapters(prefix),
    ...createRabbitMQAdapters({ url: AMQP_URL, prefix }),
  }),
};

/** A plugin whose sync messages the tests watch. */
export class SyncProbe extends Plugin {
  readonly received: unknown[] = [];
  private waiters: (() => void)[] = [];

  override async handleSyncMessage(message: unknown): Promise<void> {
    this.received.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once `count` messages arrived. */
  async waitFor(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** Options of a NocoBase `Application` on test database `database` with `plugins`. */
export function nocobaseOptions(database: string, plugins: unknown[]): never {
  return {
    database: {
      dialect: 'postgres',
      host: PG.host,
      port: PG.port,
      username: PG.user,
      password: PG.password,
      database,
      logging: false,
    },
    plugins,
    // Several nodes of one app live in one test process; NocoBase's supervisor allows one per name.
    skipSupervisor: true,
  } as never;
}

/** Options of {@link startNode}. */
export interface NodeOptions {
  database: string;
  backend: Backend;
  /** Redis key prefix of the test. */
  prefix: string;
  /** clusterkit namespace of the test (every node of one test shares it). */
  cluster: string;
  /** Bridge options besides adapters and name. */
  bridge?: Omit<InstallClusterkitOptions, 'adapters' | 'name'>;
  /** Start the app (default) or only construct and install. */
  start?: boolean;
}

/** A running NocoBase node and its bridge. */
export interface TestNode {
  readonly app: Application;
  readonly installation: ClusterkitInstallation;
  readonly probe: SyncProbe;
  stop(): Promise<void>;
}

/** Constructs a NocoBase app, installs the bridge, loads and starts it. */
export async function startNode(options: NodeOptions): Promise<TestNode> {
  const app = new Application(nocobaseOptions(options.database, [[SyncProbe, { name: 'sync-probe' }]]));
  const installation = installClusterkit(app, {
    adapters: options.backend.adapters(options.prefix),
    name: options.cluster,
    ...options.bridge,
  });
  if (options.start !== false) {
    await app.load();
    await app.start();
  }
  const probe = app.pm.get('sync-probe') as SyncProbe;
  return { app, installation, probe, stop: () => app.stop() };
}
