/**
 * One consumer of one queue on one node: a BullMQ worker whose processor turns the manager's
 * {@link DeliveryOutcome} into BullMQ moves —
 *
 * - `ack` → return (completed);
 * - `retry{delayMs}` → throw {@link RetryLater}; the job class tells BullMQ to retry after the
 *   delay the manager chose (`tolerant-job.ts`), so BullMQ counts the attempt (`attemptsMade`)
 *   and makes the job available again after `delayMs`;
 * - `dead` → throw BullMQ's `UnrecoverableError`: the job goes to the failed set (our dead letters)
 *   with the serialized error as its `failedReason` (and, under a generated id, into the
 *   dead-letter index: `bull-dead-index.ts`);
 * - `release{delayMs}` → `moveToDelayed` / `moveToWait` + `DelayedError` / `WaitingError`, which
 *   BullMQ does not count as an attempt.
 *
 * It also closes the `isIdle` gate (pauses the local worker, never dropping jobs), keeps a
 * {@link DelayWaker}, and runs a watchdog against BullMQ issue 4585 (a worker whose blocking
 * connection stays "reconnecting" forever after an outage): when the blocking connection is not
 * ready for two checks in a row while the command connection answers PING, it is reconnected in
 * place, and the worker is replaced if that does not help.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job, type Worker } from 'bullmq';
import type { ConsumeOptions, Delivery, DeliveryOutcome, QueueConsumer } from 'clusterkit/adapter-kit';
import { indexDeadLetters } from './bull-dead-index.js';
import { bullPrefix, bullQueueName } from './bull-names.js';
import { limitDelayedPromotion } from './bull-promote-limit.js';
import type { RedisConnections } from './connection.js';
import { DelayWaker, type DueAnnouncer } from './delay-waker.js';
import type { ResolvedQueueOptions } from './redis-event-queue-options.js';
import { EagerWorker } from './eager-worker.js';
import { recordIdOf } from './job-shape.js';
import { RetryLater } from './tolerant-job.js';

/** Longest wait for BullMQ's own close after our deliveries have settled, in ms. */
const CLOSE_BOUND_MS = 5_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * BullMQ's backoff hook, for a BullMQ whose job class cannot decide retries itself (then jobs carry
 * `attempts`/`backoff`): the manager already chose the delay.
 */
export function managerChosenBackoff(_attemptsMade: number, _type?: string, error?: Error): number {
  return error instanceof RetryLater ? error.delayMs : 0;
}

/** A running consumer; see the module comment. */
export class RedisQueueConsumer implements QueueConsumer {
  private worker!: Worker;
  private readonly waker: DelayWaker;
  private gateTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private pausedByGate = false;
  private strikes = 0;
  /** Deliveries the manager is still deciding on. */
  private readonly active = new Set<Promise<DeliveryOutcome>>();
  private watching = false;
  private closing?: Promise<void>;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly connections: RedisConnections,
    private readonly queue: string,
    private readonly consume: ConsumeOptions,
    private readonly deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
    private readonly options: ResolvedQueueOptions,
    private readonly due: DueAnnouncer,
  ) {
    this.waker = new DelayWaker(connections, queue, (error) => options.onError(error, { queue }));
  }

  /** Starts the worker, the delay waker, the gate and the watchdog. */
  async start(): Promise<void> {
    await this.waker.start();
    try {
      this.worker = await this.createWorker();
    } catch (error) {
      await this.waker.close();
      throw error;
    }
    if (this.consume.isIdle) {
      const every = this.consume.idleRecheckMs ?? 100;
      this.gateTimer = setInterval(() => this.checkGate(), every);
      this.gateTimer.unref();
    }
    if (this.options.watchdogIntervalMs > 0) {
      this.watchdogTimer = setInterval(() => void this.watchdog(), this.options.watchdogIntervalMs);
      this.watchdogTimer.unref();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.gateTimer);
      clearInterval(this.watchdogTimer);
      // Synchronously first: from here on BullMQ fetches nothing more (the manager relies on that).
      const closed = this.worker.close();
      // A blocking connection parked in "reconnecting" (issue 4585) never emits the "end" event
      // BullMQ's close waits for: kick it, and bound the wait below.
      void this.kickBlocking();
      await this.waker.close();
      // Our deliveries settle on their own; BullMQ's bookkeeping after them gets a bounded wait.
      await Promise.allSettled([...this.active]);
      const bounded = await Promise.race([
        closed.then(
          () => true,
          (error: unknown) => {
            this.options.onError(error, { queue: this.queue });
            return true;
          },
        ),
        delay(CLOSE_BOUND_MS).then(() => false),
      ]);
      if (!bounded) {
        this.options.onError(new Error(`BullMQ worker of "${this.queue}" did not close in ${CLOSE_BOUND_MS} ms`), {
          queue: this.queue,
        });
      }
      await Promise.allSettled([...this.retiring]);
    })();
    return this.closing;
  }

  private async createWorker(): Promise<Worker> {
    const connection = await this.connections.worker();
    const o = this.options;
    const worker = new EagerWorker(bullQueueName(this.queue), (job, token) => this.process(job, token), {
      connection,
      prefix: bullPrefix(this.connections.prefix),
      concurrency: this.consume.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
      drainDelay: o.drainDelaySeconds,
      settings: { backoffStrategy: managerChosenBackoff },
      autorun: false,
    });
    worker.on('error', (error) => o.onError(error, { queue: this.queue }));
    if (this.pausedByGate) await worker.pause(true);
    // BullMQ defines its scripts on the connection while the worker gets ready: limit the promotion
    // of due delayed jobs per fetch before the first fetch (see bull-promote-limit.ts).
    await worker.waitUntilReady();
    limitDelayedPromotion(connection);
    // Dead letters of messages under generated ids are indexed by record id as they die.
    indexDeadLetters(connection);
    void worker.run().catch((error: unknown) => o.onError(error, { queue: this.queue }));
    return worker;
  }

  private async process(job: Job, token: string | undefined): Promise<void> {
    if (this.closing) {
      // Fetched in the instant the consumer began closing: hand it back untouched.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (this.consume.isIdle && !this.consume.isIdle()) {
      // Fetched just before the gate closed: hand it back untouched and stop fetching.
      this.closeGate();
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const body = job.data as string;
    const delivery = this.deliver({ id: recordIdOf(job.id!, body), body, attempt: job.attemptsMade });
    this.active.add(delivery);
    let outcome: DeliveryOutcome;
    try {
      outcome = await delivery;
    } finally {
      this.active.delete(delivery);
      // A closed gate may have opened with this delivery: ask now, not at the next interval tick.
      if (this.pausedByGate) this.checkGate();
    }
    switch (outcome.type) {
      case 'ack':
        return;
      case 'retry':
        if (outcome.delayMs > 0) this.announceDue(Date.now() + outcome.delayMs);
        throw new RetryLater(outcome.delayMs, outcome.error.message);
      case 'dead':
        throw new UnrecoverableError(JSON.stringify(outcome.error));
      case 'release':
        if (outcome.delayMs > 0) {
          await job.moveToDelayed(Date.now() + outcome.delayMs, token);
          this.announceDue(Date.now() + outcome.delayMs);
          throw new DelayedError();
        }
        await job.moveToWait(token);
        throw new WaitingError();
    }
  }

  /** Wakes this node's and every other node's consumers when a re-delayed job is due. */
  private announceDue(dueAt: number): void {
    this.waker.schedule(dueAt);
    this.due.announce(this.queue, dueAt).catch(() => {});
  }

  private checkGate(): void {
    if (this.closing || !this.consume.isIdle) return;
    if (this.consume.isIdle()) {
      if (this.pausedByGate) {
        this.pausedByGate = false;
        void this.worker.resume();
      }
    } else {
      this.closeGate();
    }
  }

  private closeGate(): void {
    if (this.pausedByGate) return;
    this.pausedByGate = true;
    void this.worker.pause(true).catch((error: unknown) => this.options.onError(error, { queue: this.queue }));
  }

  /** The worker's blocking client, if BullMQ hands it over within a second. */
  private async blockingClient(): Promise<{ status?: string; connect(): Promise<void> } | undefined> {
    const client = this.worker.backend.blockingClient;
    if (!client) return undefined;
    return (await Promise.race([client, delay(1_000).then(() => undefined)])) as
      { status?: string; connect(): Promise<void> } | undefined;
  }

  /** Reconnects a blocking client parked in "reconnecting"/"close" with no retry armed. */
  private async kickBlocking(): Promise<void> {
    const blocking = await this.blockingClient().catch(() => undefined);
    if (blocking && (blocking.status === 'reconnecting' || blocking.status === 'close')) {
      await Promise.race([blocking.connect().catch(() => {}), delay(1_000)]);
    }
  }

  /**
   * Watchdog against BullMQ issue 4585: while Redis answers PING on the command connection, a
   * blocking connection that stays out of "ready" for two checks is reconnected in place; if that
   * does not help within two more checks, the worker is replaced (once nothing is in flight).
   */
  private async watchdog(): Promise<void> {
    if (this.closing || this.pausedByGate || this.watching) return;
    this.watching = true;
    try {
      const blocking = await this.blockingClient();
      const status = blocking?.status;
      if (!blocking || status === 'ready' || status === 'connecting' || status === 'connect' || status === 'wait') {
        this.strikes = 0;
        return;
      }
      if ((await this.connections.command.ping()) !== 'PONG') return;
      this.strikes += 1;
      if (this.strikes === 2) {
        this.options.onError(
          new Error(`BullMQ worker of "${this.queue}": blocking connection stuck in "${status}"; reconnecting it`),
          {
            queue: this.queue,
          },
        );
        await this.kickBlocking();
        return;
      }
      if (this.strikes < 4 || this.active.size > 0 || this.closing) return;
      this.strikes = 0;
      const stuck = this.worker;
      this.worker = await this.createWorker();
      this.options.onError(
        new Error(`BullMQ worker of "${this.queue}" was stuck (blocking connection ${status}); replaced`),
        {
          queue: this.queue,
        },
      );
      const retired = Promise.race([stuck.close(true).catch(() => {}), delay(CLOSE_BOUND_MS)]).then(() => {});
      this.retiring.add(retired);
      void retired.finally(() => this.retiring.delete(retired));
    } catch {
      // Redis is down: nothing to decide until it answers again.
    } finally {
      this.watching = false;
    }
  }
}
