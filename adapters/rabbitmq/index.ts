/**
 * `clusterkit/rabbitmq` — RabbitMQ adapters for the event queue and pub/sub. Locks and the cache
 * stay on memory or Redis: spread `{ ...createRedisAdapters(), ...createRabbitMQAdapters() }`.
 * See docs/rabbitmq.md.
 */
import {
  assertInteger,
  assertName,
  assertOptions,
  ClusterError,
  defaultLogger,
  ErrorCodes,
  type Logger,
} from 'clusterkit/adapter-kit';
import { RabbitMQConnection } from './connection.js';
import { RabbitMQEventQueueAdapter } from './rabbitmq-event-queue-adapter.js';
import { RabbitMQPubSubAdapter } from './rabbitmq-pub-sub-adapter.js';
import type { WorkQueueType } from './topology.js';

export { RabbitMQEventQueueAdapter } from './rabbitmq-event-queue-adapter.js';
export { RabbitMQPubSubAdapter } from './rabbitmq-pub-sub-adapter.js';
export { RabbitMQConnection, type RabbitMQConnectionOptions } from './connection.js';
export {
  allQueueNames,
  queueNames,
  pubSubExchange,
  MAX_DELAY_LEVEL,
  type QueueNames,
  type WorkQueueType,
} from './topology.js';

/** Options of {@link createRabbitMQAdapters}. */
export interface RabbitMQAdaptersOptions {
  /** `amqp://` or `amqps://` URL. @default 'amqp://guest:guest@127.0.0.1:5672' */
  url?: string;
  /**
   * First segment of every exchange and queue name; apps sharing a broker may share it (queue and
   * channel names are already namespaced by app). @default 'clusterkit'
   */
  prefix?: string;
  /**
   * `quorum` (replicated, delivery limit, no priority on 3.x) or `classic` (priority via
   * `x-max-priority`, single node, no delivery limit). Cannot change for an existing queue. @default 'quorum'
   */
  queueType?: WorkQueueType;
  /**
   * Quorum `x-delivery-limit`: deliveries without an ack (consumer crashes, connection losses,
   * hand-backs while busy) before the broker moves a message to the dead-letter queue. Handler
   * failures do not count: the manager's retries republish. @default 20
   */
  deliveryLimit?: number;
  /** How long a publish or call waits for a lost connection to recover before it rejects, in ms. @default 10000 */
  unavailableTimeoutMs?: number;
  /** First reconnect delay, in ms (doubles per attempt, with jitter). @default 100 */
  reconnectInitialDelayMs?: number;
  /** Longest reconnect delay, in ms. @default 5000 */
  reconnectMaxDelayMs?: number;
  /** Failed attempts before `app.start()` gives up on an unreachable broker. @default 3 */
  initialConnectRetries?: number;
  /** AMQP heartbeat, in seconds (the protocol's unit). @default 10 */
  heartbeatSeconds?: number;
  /** Connection name shown by `rabbitmqctl list_connections client_properties` and the management UI. @default 'clusterkit' */
  connectionName?: string;
  /** Where reconnects and background failures are logged. @default warnings and errors to stderr */
  logger?: Logger;
}

const OPTION_KEYS = [
  'url',
  'prefix',
  'queueType',
  'deliveryLimit',
  'unavailableTimeoutMs',
  'reconnectInitialDelayMs',
  'reconnectMaxDelayMs',
  'initialConnectRetries',
  'heartbeatSeconds',
  'connectionName',
  'logger',
] as const;

/** The default broker URL. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/**
 * RabbitMQ adapters for the event queue and pub/sub of one node. Both share one connection, opened
 * by `app.start()` (nothing connects earlier) and closed by `app.stop()`.
 */
export function createRabbitMQAdapters(options: RabbitMQAdaptersOptions = {}): {
  eventQueue: RabbitMQEventQueueAdapter;
  pubSub: RabbitMQPubSubAdapter;
} {
  assertOptions('createRabbitMQAdapters', options, OPTION_KEYS);
  const url = options.url ?? DEFAULT_AMQP_URL;
  if (typeof url !== 'string' || !/^amqps?:\/\//.test(url)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'createRabbitMQAdapters: url must start with amqp:// or amqps://',
      {
        details: { option: 'url' },
      },
    );
  }
  const prefix = assertName('prefix', options.prefix ?? 'clusterkit');
  const queueType = options.queueType ?? 'quorum';
  if (queueType !== 'quorum' && queueType !== 'classic') {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `queueType must be 'quorum' or 'classic', got ${String(queueType)}`,
      {
        details: { option: 'queueType' },
      },
    );
  }
  const deliveryLimit = assertInteger('deliveryLimit', options.deliveryLimit ?? 20, 1);
  const optionalInt = (name: (typeof OPTION_KEYS)[number], min: number) => {
    const value = options[name];
    return value === undefined ? undefined : assertInteger(name, value, min);
  };
  const connection = new RabbitMQConnection({
    url,
    logger: options.logger ?? defaultLogger,
    unavailableTimeoutMs: optionalInt('unavailableTimeoutMs', 1),
    reconnectInitialDelayMs: optionalInt('reconnectInitialDelayMs', 1),
    reconnectMaxDelayMs: optionalInt('reconnectMaxDelayMs', 1),
    initialConnectRetries: optionalInt('initialConnectRetries', 0),
    heartbeatSeconds: optionalInt('heartbeatSeconds', 0),
    connectionName:
      options.connectionName === undefined ? undefined : assertName('connectionName', options.connectionName),
  });
  return {
    eventQueue: new RabbitMQEventQueueAdapter(connection, prefix, { type: queueType, deliveryLimit }),
    pubSub: new RabbitMQPubSubAdapter(connection, prefix),
  };
}
