/**
 * The in-process event-queue adapter (the default). All state lives in the shared
 * {@link MemoryBackend}, so several apps given adapters on one backend are competing nodes of one
 * cluster; an app with its own backend is a cluster of one. Nothing survives the process.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { createMemoryBackend, type MemoryBackend } from '../memory-backend.js';
import { MemoryQueue, type MemoryConsumer } from './memory-queue.js';
import type {
  ConsumeOptions,
  DeadLetter,
  Delivery,
  DeliveryOutcome,
  EventQueueAdapter,
  EventQueueCapabilities,
  QueueConsumer,
  QueueCounts,
  QueueRecord,
} from './types.js';

/** Default gate recheck interval, in ms. */
const DEFAULT_IDLE_RECHECK_MS = 100;

/** The queues of one memory backend, shared by every adapter built on it. */
class MemoryQueueStore {
  private readonly queues = new Map<string, MemoryQueue>();

  get(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new MemoryQueue();
      this.queues.set(name, queue);
    }
    return queue;
  }

  peek(name: string): MemoryQueue | undefined {
    return this.queues.get(name);
  }

  /** Names of the queues with at least one dead letter. */
  withDeadLetters(): string[] {
    return [...this.queues].filter(([, q]) => q.counts().dead > 0).map(([name]) => name);
  }
}

/**
 * In-process {@link EventQueueAdapter}: priority heap with publish-order tie-break, one timer for
 * the next due delayed record, idempotent ids, a dead-letter store per queue, competing consumers
 * across the apps sharing `backend`.
 */
export class MemoryEventQueueAdapter implements EventQueueAdapter {
  /** Priority and delay are honoured; nothing is durable; one process only. */
  readonly capabilities: EventQueueCapabilities = Object.freeze({
    priority: true,
    delay: true,
    durable: false,
    distributed: false,
    uniqueIds: true,
  });
  private readonly store: MemoryQueueStore;
  private readonly open = new Map<MemoryConsumer, MemoryQueue>();
  private connected = false;

  /** @param backend shared state; apps on the same backend compete for the same queues. @default a new backend */
  constructor(backend: MemoryBackend = createMemoryBackend()) {
    this.store = backend.part('event-queue', () => new MemoryQueueStore());
  }

  /** Marks the adapter usable; there is nothing to open. */
  async connect(): Promise<void> {
    this.connected = true;
  }

  /** Detaches any consumer still open (waiting for its in-flight deliveries) and refuses further work. */
  async close(): Promise<void> {
    this.connected = false;
    await Promise.all([...this.open].map(([consumer, queue]) => queue.detach(consumer)));
    this.open.clear();
  }

  /** Stores a record; an id that still exists in the queue (any state) is left as it is. */
  async publish(queue: string, record: QueueRecord): Promise<void> {
    this.assertConnected();
    this.store.get(queue).add(record);
  }

  /** Attaches a competing consumer to `queue`. */
  async consume(
    queue: string,
    options: ConsumeOptions,
    deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
  ): Promise<QueueConsumer> {
    this.assertConnected();
    const target = this.store.get(queue);
    const consumer: MemoryConsumer = {
      concurrency: options.concurrency,
      isIdle: options.isIdle,
      idleRecheckMs: options.idleRecheckMs ?? DEFAULT_IDLE_RECHECK_MS,
      deliver,
      inFlight: 0,
      closing: false,
      gatedPass: 0,
    };
    this.open.set(consumer, target);
    target.attach(consumer);
    return {
      close: async () => {
        await target.detach(consumer);
        this.open.delete(consumer);
      },
    };
  }

  /** Dead letters of `queue`, oldest first. */
  async listDeadLetters(queue: string, range: { offset: number; limit: number }): Promise<DeadLetter[]> {
    return this.store.peek(queue)?.listDead(range.offset, range.limit) ?? [];
  }

  /** Moves dead letters back to waiting with attempt 0; returns how many moved. */
  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    return this.store.peek(queue)?.redrive(ids) ?? 0;
  }

  /** Deletes dead letters; returns how many were deleted. */
  async deleteDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    return this.store.peek(queue)?.deleteDead(ids) ?? 0;
  }

  /** Record counts of `queue`. */
  async counts(queue: string): Promise<QueueCounts> {
    return this.store.peek(queue)?.counts() ?? { waiting: 0, delayed: 0, active: 0, dead: 0 };
  }

  async deadLetterQueues(): Promise<string[]> {
    return this.store.withDeadLetters();
  }

  /** Drops every record of `queue`, dead letters included. */
  async obliterate(queue: string): Promise<void> {
    this.store.peek(queue)?.clear();
  }

  private assertConnected(): void {
    if (!this.connected) {
      throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, 'memory event-queue adapter is not connected');
    }
  }
}
