/**
 * The event-queue contract. The manager owns the protocol (names, envelope, serialization,
 * validation, retry counting, backoff, timeouts); an adapter only stores, orders and moves
 * opaque records. See docs/adapters.md.
 */
import type { SerializedError } from '../errors.js';

/** What an event-queue adapter can do; conformance suites skip by capability, not by adapter name. */
export interface EventQueueCapabilities {
  /** Lower `priority` runs first. */
  readonly priority: boolean;
  /** `delayMs` is honoured. */
  readonly delay: boolean;
  /** Messages survive a restart of every node. */
  readonly durable: boolean;
  /** Nodes sharing the backend compete for messages (false: one process only). */
  readonly distributed: boolean;
  /**
   * Publishing an id that still exists is a no-op (`jobId` deduplicates). False: every publish
   * stores a record, even under an id that is already queued; the id still names the record
   * (listing, redrive).
   */
  readonly uniqueIds: boolean;
  /**
   * How to get a capability this adapter lacks in its current configuration, per capability;
   * appended to the `NOT_SUPPORTED` error (RabbitMQ quorum queues: "use queueType: 'classic'").
   */
  readonly hints?: Readonly<Partial<Record<'priority' | 'delay', string>>>;
  /**
   * `publish` accepts `{ transaction }`: the record is written inside the caller's open database
   * transaction and exists if and only if that transaction commits (PostgreSQL). Absent = false;
   * the manager then refuses `transaction` with `NOT_SUPPORTED`.
   */
  readonly transactional?: boolean;
}

/** Per-call context of {@link EventQueueAdapter.publish}. */
export interface PublishContext {
  /**
   * The caller's open transaction (a `pg.PoolClient` inside `BEGIN`, a Sequelize transaction, ...),
   * given only to adapters whose `capabilities.transactional` is true.
   */
  readonly transaction?: unknown;
}

/** A record as published to an adapter. */
export interface QueueRecord {
  /**
   * Unique within the queue. With `capabilities.uniqueIds`, publishing an id that still exists
   * (waiting, delayed, active or dead) is a no-op; without it, the id only names the record. An
   * acknowledged record never blocks its id: a backend that keeps completed records for inspection
   * must keep them out of the way of a new record with the same id.
   */
  readonly id: string;
  /**
   * The id came from the publisher (`jobId`), so it may be published again once its record was
   * acknowledged. Generated ids are never reused: an adapter may skip the completed-record check
   * for them.
   */
  readonly callerId?: boolean;
  /** Serialized envelope; opaque to the adapter. */
  readonly body: string;
  /** 0 = most urgent; ties run in publish order. */
  readonly priority: number;
  /** Earliest start, in ms from now; 0 = now. */
  readonly delayMs: number;
}

/** A record handed to a consumer. */
export interface Delivery {
  readonly id: string;
  /** The body as stored; the manager dead-letters it if it is not a valid envelope. */
  readonly body: string;
  /** Failed attempts so far (0 on the first delivery). Crash redeliveries do not increase it. */
  readonly attempt: number;
}

/** What the manager decides after a delivery. */
export type DeliveryOutcome =
  /** Done: remove the record. */
  | { readonly type: 'ack' }
  /** Failed attempt: make it available again after `delayMs` with `attempt + 1`. */
  | { readonly type: 'retry'; readonly delayMs: number; readonly error: SerializedError }
  /** Give up: move it to the dead-letter store with the reason. */
  | { readonly type: 'dead'; readonly error: SerializedError }
  /** Hand back untouched (same attempt), available again after `delayMs` (shutdown, missing handler). */
  | { readonly type: 'release'; readonly delayMs: number };

/** How a consumer takes work. */
export interface ConsumeOptions {
  /** Most deliveries in flight at once on this consumer. */
  readonly concurrency: number;
  /**
   * Gate checked before taking each new record; while it returns false the consumer takes nothing
   * (records stay queued) and checks again at least every `idleRecheckMs`.
   */
  readonly isIdle?: () => boolean;
  /** @default 100 */
  readonly idleRecheckMs?: number;
}

/** A running consumer. */
export interface QueueConsumer {
  /** Stops taking records and resolves once every in-flight delivery has settled. */
  close(): Promise<void>;
}

/** A record that exhausted its attempts or failed permanently. */
export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /**
   * Failed attempts, the final one included: the `attempt` of the delivery that was dead-lettered
   * plus one (a message that failed on its first delivery has 1).
   */
  readonly attempt: number;
  readonly error: SerializedError;
  /** Epoch ms. */
  readonly failedAt: number;
}

/** Record counts of one queue. */
export interface QueueCounts {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly dead: number;
}

/** The byte-moving half of the event queue. One instance per node. */
export interface EventQueueAdapter {
  readonly capabilities: EventQueueCapabilities;
  /** Opens connections. Called by `app.start()`; factories must not connect earlier. */
  connect(): Promise<void>;
  /** Closes connections. Consumers are closed by the manager first. */
  close(): Promise<void>;
  /**
   * Stores a record. Resolves only once the backend has accepted it durably (as durable as the
   * backend is); rejects with a `ClusterError` (`BACKEND_UNAVAILABLE`) rather than dropping it.
   * `queue` is any valid name (`appScopedName(app, channel)`: `<app>:<channel>`, each part escaped); adapters encode characters their backend forbids.
   */
  publish(queue: string, record: QueueRecord, context?: PublishContext): Promise<void>;
  /** Starts delivering records of `queue` to `deliver`, at most `concurrency` at once. */
  consume(
    queue: string,
    options: ConsumeOptions,
    deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
  ): Promise<QueueConsumer>;
  /** Dead letters, oldest first. */
  listDeadLetters(queue: string, range: { offset: number; limit: number }): Promise<DeadLetter[]>;
  /** Moves dead letters (all when `ids` is omitted) back to waiting with attempt 0; returns how many. */
  redrive(queue: string, ids?: readonly string[]): Promise<number>;
  /** Deletes dead letters (all when `ids` is omitted); returns how many. */
  deleteDeadLetters(queue: string, ids?: readonly string[]): Promise<number>;
  counts(queue: string): Promise<QueueCounts>;
  /** Removes the queue and everything in it (tests, `clusterkit` CLI). */
  obliterate(queue: string): Promise<void>;
  /**
   * Names of the queues that hold at least one dead letter (`clusterkit dlq channels`). Optional:
   * a backend that cannot list its queues (RabbitMQ over AMQP) leaves it out.
   */
  deadLetterQueues?(): Promise<string[]>;
}
