/**
 * Writes a job into the two systems it lives in: the record in the job store, then its ticket on the
 * physical queue. The record is created saying "ticket pending" and the flag is cleared once the
 * publish is confirmed, so a crash between the two writes leaves a job the reconciler (or the next
 * enqueue of the same id) republishes — never a job `waiting` for ever.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { afterCommitOf } from './after-commit.js';
import { envelopeOf, refOf, ticketId, type JobRecord } from './envelope.js';
import type { JobStore } from './job-store.js';
import { randomHex12 } from './random-hex.js';
import { physicalPriority, type TicketPreparer, type TicketPublisher } from './ticket-publisher.js';
import type { EnqueueOptions } from './types.js';

/** Enqueue's writes. */
export class JobWriter {
  constructor(
    private readonly store: () => JobStore,
    private readonly publishTicket: TicketPublisher,
    private readonly reportError: (error: unknown, meta: Record<string, unknown>) => void,
    /** Can the event queue publish inside a database transaction (capability `transactional`)? */
    private readonly ticketsInTransaction: () => boolean = () => false,
    /** Prepares a ticket for a store that writes it with the record (`JobStore.createWithTicket`). */
    private readonly prepareTicket?: TicketPreparer,
  ) {}

  /**
   * Publishes the ticket of `record`'s current generation (deterministic physical id) and confirms
   * it to the store. Used by enqueue, retries, `retry()` and the reconciler.
   */
  readonly publishRecord = async (record: JobRecord, delayMs: number, priority = record.priority): Promise<void> => {
    // A parked job's ticket was consumed (acknowledged) under the deterministic id, which a backend
    // may still hold as completed: its replacement needs an id of its own.
    const physicalId = record.parkedBy === undefined ? ticketId(record) : `${ticketId(record)}|r${randomHex12()}`;
    await this.publishTicket(envelopeOf(record), Math.max(0, delayMs), physicalId, priority);
    // Replaces the park it names (if any); a node that parks the new ticket meanwhile keeps its mark.
    await this.store().ticketSent(refOf(record), record.parkedBy);
  };

  /**
   * Creates the record and publishes its ticket; returns the id of the job that exists (an existing
   * job with the same id wins: the dedupe). A deduplicated job whose ticket is still pending gets it
   * republished here, so re-enqueueing the id of a job stuck by a crash repairs it at once.
   *
   * With a `transaction` the store can write in (see {@link inStoreTransaction}), the record and —
   * on an event queue that publishes in transactions too — its ticket are written by the caller's
   * transaction: both exist if and only if it commits. Otherwise an `afterCommit(cb)` transaction
   * gets both written once it commits.
   */
  async write(
    record: JobRecord,
    transaction: EnqueueOptions['transaction'],
    options: { keepOnPublishFailure?: boolean } = {},
  ): Promise<void> {
    const store = this.store();
    if (transaction !== undefined && inStoreTransaction(store, transaction)) {
      await this.writeInTransaction(record, transaction);
      return;
    }
    if (transaction !== undefined) {
      const afterCommit = afterCommitOf(transaction, this.enqueueFailed(record));
      if (afterCommit === undefined) {
        throw new ClusterError(
          ErrorCodes.NOT_SUPPORTED,
          `managedQueue.enqueue: the "${store.kind}" job store cannot write inside this transaction; pass an object with afterCommit(callback)`,
          { details: { option: 'transaction' } },
        );
      }
      afterCommit(() => this.createAndPublish(record));
      return;
    }
    await this.createAndPublish(record, options.keepOnPublishFailure === true);
  }

  /** Record (and ticket, when the event queue can) inside the caller's transaction. */
  private async writeInTransaction(record: JobRecord, transaction: object): Promise<void> {
    const store = this.store();
    const together = this.ticketsInTransaction();
    // Written together, the ticket exists exactly when the record does: nothing is pending.
    if (together) delete record.ticketPendingSince;
    const created = await store.create(record, { transaction });
    if (!created.created) return;
    if (together) {
      await this.publishTicket(
        envelopeOf(record),
        Math.max(0, record.runAt - Date.now()),
        ticketId(record),
        physicalPriority(record.priority, created.backlog),
        transaction,
      );
      return;
    }
    // The ticket follows the commit when the transaction says when that is; else the reconciler
    // publishes it (the record says "ticket pending").
    afterCommitOf(transaction, this.enqueueFailed(record))?.(() => this.publishCreated(record, created.backlog));
  }

  /** Reports a failure of `record`'s enqueue that no caller awaits (it followed a commit). */
  private enqueueFailed(record: JobRecord): (error: unknown) => void {
    return (error) => this.reportError(error, { source: 'managedQueue.enqueue', jobId: record.id });
  }

  private async createAndPublish(record: JobRecord, keepOnPublishFailure = false): Promise<void> {
    const store = this.store();
    // Record and ticket in one atomic step where the store and the event queue allow it: nothing is
    // ever pending, and no confirmation follows. Else (undefined) the two steps below.
    const fused =
      store.createWithTicket && this.prepareTicket
        ? await store.createWithTicket(
            record,
            this.prepareTicket(envelopeOf(record), Math.max(0, record.runAt - Date.now()), ticketId(record)),
          )
        : undefined;
    if (fused?.created) {
      delete record.ticketPendingSince;
      return;
    }
    const created = fused ?? (await store.create(record));
    if (!created.created) {
      const existing = created.existing;
      // Pending and not parked by a node (a parked job is that node's, or the reconciler's once it dies).
      if (existing.ticketPendingSince !== undefined && existing.parkedBy === undefined) {
        await this.publishRecord(existing, existing.runAt - Date.now());
      }
      return;
    }
    await this.publishCreated(record, created.backlog, keepOnPublishFailure);
  }

  private async publishCreated(record: JobRecord, backlog: number, keepOnPublishFailure = false): Promise<void> {
    const delayMs = Math.max(0, record.runAt - Date.now());
    try {
      await this.publishTicket(
        envelopeOf(record),
        delayMs,
        ticketId(record),
        physicalPriority(record.priority, backlog),
      );
    } catch (error) {
      // The broker refused: the job does not exist (the caller sees the error). If the delete fails
      // too, the record stays pending and the reconciler publishes it. A schedule tick keeps its
      // record (pending): the tick's job exists, and the next cycle or the reconciler publishes it.
      if (!keepOnPublishFailure) {
        await this.store()
          .remove(record.id)
          .catch(() => {});
      }
      throw error;
    }
    // A failed confirmation only leaves the flag set: the claim clears it, or the reconciler
    // republishes under the same physical id.
    await this.store()
      .ticketSent(refOf(record))
      .catch((error: unknown) => this.reportError(error, { source: 'managedQueue.enqueue', jobId: record.id }));
  }
}

/** Does `store` write inside `transaction` itself (capability `transactions`, and a transaction of its kind)? */
export function inStoreTransaction(store: JobStore, transaction: object): boolean {
  return store.capabilities.transactions && (store.acceptsTransaction?.(transaction) ?? true);
}
