/**
 * `clusterkit/rabbitmq` — RabbitMQ adapters (event queue, pub/sub).
 * PLACEHOLDER until issue 4 lands: the signature is final, the implementation is not there yet.
 */
import { ClusterError, ErrorCodes, type EventQueueAdapter, type PubSubAdapter } from 'clusterkit';

/** Options of {@link createRabbitMQAdapters}. */
export interface RabbitMQAdaptersOptions {
  /** `amqp://` or `amqps://` URL. */
  url?: string;
}

/** RabbitMQ adapters for the event queue and pub/sub. */
export function createRabbitMQAdapters(_options: RabbitMQAdaptersOptions = {}): {
  eventQueue: EventQueueAdapter;
  pubSub: PubSubAdapter;
} {
  throw new ClusterError(ErrorCodes.NOT_SUPPORTED, 'clusterkit/rabbitmq is not implemented yet');
}
