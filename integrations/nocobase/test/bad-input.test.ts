/**
 * Bad input through NocoBase's own API gets a clear, coded error at the call, and nothing reaches
 * the broker: the node's clusterkit adapters are watched (every publish the broker would get is
 * counted) while a NocoBase node on them is fed empty channels, non-JSON messages and bad options.
 */
import { ClusterError, ErrorCodes, type ClusterAdapters } from 'clusterkit';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanBrokers } from './broker-state.js';
import { rabbitmqBackend, redisBackend, startNode, type Backend, type TestNode } from './nocobase-node.js';
import { useDatabase, randomName } from './services.js';

/** `backend` with every broker publish of its adapters counted. */
function watched(backend: Backend, sent: string[]): Backend {
  return {
    ...backend,
    adapters(prefix) {
      const adapters: ClusterAdapters = backend.adapters(prefix);
      const queue = adapters.eventQueue!;
      const pubSub = adapters.pubSub!;
      const queuePublish = queue.publish.bind(queue);
      const pubSubPublish = pubSub.publish.bind(pubSub);
      queue.publish = (name, record) => {
        sent.push(`queue ${name}`);
        return queuePublish(name, record);
      };
      pubSub.publish = (channel, payload) => {
        sent.push(`pubsub ${channel}`);
        return pubSubPublish(channel, payload);
      };
      return adapters;
    },
  };
}

/** The code of what `call` threw or rejected with (`not a ClusterError: ...` otherwise). */
async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error instanceof ClusterError ? error.code : `not a ClusterError: ${String(error)}`;
  }
}

for (const backend of [redisBackend, rabbitmqBackend]) {
  describe(`bad input through NocoBase's API [${backend.label}]`, () => {
    const db = useDatabase();
    let prefix = '';
    let node: TestNode | undefined;
    const sent: string[] = [];
    afterEach(async () => {
      await node?.stop();
      node = undefined;
      await cleanBrokers(prefix, backend.rabbit);
    });

    it('gets a coded error at the call and nothing reaches the broker', async () => {
      prefix = randomName('ckn');
      node = await startNode({ database: db().name, backend: watched(backend, sent), prefix, cluster: prefix });
      const { app, probe } = node;
      app.eventQueue.subscribe('jobs', { idle: () => true, process: async () => {} });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      sent.length = 0;

      const cases: [string, () => unknown, string][] = [
        [
          'queue subscribe, empty channel',
          () => app.eventQueue.subscribe('', { idle: () => true, process: async () => {} }),
          ErrorCodes.INVALID_NAME,
        ],
        [
          'queue subscribe, no process',
          () => app.eventQueue.subscribe('x', { idle: () => true } as never),
          ErrorCodes.INVALID_ARGUMENT,
        ],
        [
          'queue subscribe, fractional concurrency',
          () => app.eventQueue.subscribe('x', { idle: () => true, concurrency: 1.5, process: async () => {} }),
          ErrorCodes.INVALID_OPTION,
        ],
        ['queue publish, empty channel', () => app.eventQueue.publish('', { n: 1 }), ErrorCodes.INVALID_NAME],
        [
          'queue publish, a function',
          () => app.eventQueue.publish('jobs', { run: () => 1 }),
          ErrorCodes.INVALID_PAYLOAD,
        ],
        ['queue publish, a cycle', () => app.eventQueue.publish('jobs', cyclic), ErrorCodes.INVALID_PAYLOAD],
        ['queue publish, a BigInt', () => app.eventQueue.publish('jobs', { n: 10n }), ErrorCodes.INVALID_PAYLOAD],
        [
          'queue publish, negative maxRetries',
          () => app.eventQueue.publish('jobs', { n: 1 }, { maxRetries: -1 }),
          ErrorCodes.INVALID_OPTION,
        ],
        [
          'queue publish, NaN timeout',
          () => app.eventQueue.publish('jobs', { n: 1 }, { timeout: Number.NaN }),
          ErrorCodes.INVALID_OPTION,
        ],
        [
          'queue publish, negative delay',
          () => app.eventQueue.publish('jobs', { n: 1 }, { delay: -5 } as never),
          ErrorCodes.INVALID_OPTION,
        ],
        ['pub/sub publish, empty channel', () => app.pubSubManager.publish('', { n: 1 }), ErrorCodes.INVALID_NAME],
        [
          'pub/sub publish, a function',
          () => app.pubSubManager.publish('news', { run: () => 1 }),
          ErrorCodes.INVALID_PAYLOAD,
        ],
        ['pub/sub publish, a cycle', () => app.pubSubManager.publish('news', cyclic), ErrorCodes.INVALID_PAYLOAD],
        [
          'pub/sub subscribe, empty channel',
          () => app.pubSubManager.subscribe('', async () => {}),
          ErrorCodes.INVALID_NAME,
        ],
        [
          'pub/sub subscribe, negative debounce',
          () => app.pubSubManager.subscribe('news', async () => {}, { debounce: -1 }),
          ErrorCodes.INVALID_OPTION,
        ],
        ['sync message, empty channel', () => app.syncMessageManager.publish('', { n: 1 }), ErrorCodes.INVALID_NAME],
        [
          'sync message, a function',
          () => app.syncMessageManager.publish('sync-probe', { run: () => 1 }),
          ErrorCodes.INVALID_PAYLOAD,
        ],
      ];
      for (const [what, call, code] of cases) expect(await codeOf(call), what).toBe(code);

      // A plugin's sendSyncMessage logs and swallows errors, as NocoBase's does; nothing is sent.
      await expect(probe.sendSyncMessage(cyclic)).resolves.toBeUndefined();
      expect(sent).toEqual([]);

      // Good input still flows, and is counted: the watch works.
      await app.eventQueue.publish('jobs', { n: 1 });
      await probe.sendSyncMessage({ n: 1 });
      expect(sent.some((line) => line.startsWith('queue '))).toBe(true);
      expect(sent.some((line) => line.startsWith('pubsub '))).toBe(true);
    });
  });
}
