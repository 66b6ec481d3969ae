/**
 * One test's RabbitMQ "site": a random prefix and app name shared by several nodes, some connected
 * straight to the broker and some through their own TCP proxy (so a test can break one node's
 * network at an exact protocol moment), and a cleanup that stops every node and deletes what they
 * declared.
 */
import { createApp, silentLogger, type App, type AppOptions } from 'clusterkit';
import { createRabbitMQAdapters, type RabbitMQAdaptersOptions } from 'clusterkit/rabbitmq';
import { deleteTopology } from '../conformance/rabbitmq-factory.js';
import { randomName } from '../helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

type AdapterOptions = Omit<RabbitMQAdaptersOptions, 'url' | 'prefix' | 'connectionName'>;
type NodeOptions = Partial<Omit<AppOptions, 'adapters' | 'name'>>;

/** A node and, when it goes through one, its proxy. */
export interface SiteNode {
  readonly app: App;
  /** The connection name the broker lists for this node (for `rabbitmqctl close_connection`). */
  readonly connectionName: string;
  readonly proxy?: TcpProxy;
}

/** See the module comment. */
export interface Site {
  readonly prefix: string;
  readonly appName: string;
  /** A node connected straight to the broker. */
  direct(adapters?: AdapterOptions, node?: NodeOptions): SiteNode;
  /** A node behind a proxy of its own. */
  proxied(adapters?: AdapterOptions, node?: NodeOptions): Promise<Required<SiteNode>>;
  /** Stops every node (bounded), closes the proxies, deletes queues and the exchange. */
  dispose(): Promise<void>;
}

/** Makes a site on the broker at `url`. */
export function rabbitSite(url: string): Site {
  const prefix = randomName('ckr');
  const appName = randomName('ck');
  const made: { app: App; adapters: ReturnType<typeof createRabbitMQAdapters> }[] = [];
  const proxies: TcpProxy[] = [];
  const node = (via: string, connectionName: string, adapterOptions: AdapterOptions, nodeOptions: NodeOptions) => {
    const adapters = createRabbitMQAdapters({
      logger: silentLogger,
      ...adapterOptions,
      url: via,
      prefix,
      connectionName,
    });
    const app = createApp({ logger: silentLogger, stopGracePeriodMs: 1_000, ...nodeOptions, name: appName, adapters });
    made.push({ app, adapters });
    return app;
  };
  return {
    prefix,
    appName,
    direct(adapters = {}, options = {}) {
      const connectionName = `${prefix}-direct-${made.length}`;
      return { app: node(url, connectionName, adapters, options), connectionName };
    },
    async proxied(adapters = {}, options = {}) {
      const broker = new URL(url);
      const proxy = await startTcpProxy(broker.hostname, Number(broker.port || 5672));
      proxies.push(proxy);
      const connectionName = `${prefix}-proxied-${made.length}`;
      return { app: node(proxy.url(url), connectionName, adapters, options), connectionName, proxy };
    },
    async dispose() {
      // Thawed and cut first, so no stop waits on a link a test left frozen.
      for (const proxy of proxies) {
        proxy.thaw();
        await proxy.cut();
      }
      await Promise.allSettled(made.map(({ app }) => app.stop()));
      await Promise.all(proxies.map((proxy) => proxy.close()));
      const queues = new Set<string>();
      for (const { adapters } of made) {
        for (const name of adapters.eventQueue.touchedQueues) queues.add(name);
        queues.add(adapters.pubSub.nodeQueue);
      }
      await deleteTopology(url, queues, made.length > 0 ? [made[0]!.adapters.pubSub.exchange] : []);
    },
  };
}
