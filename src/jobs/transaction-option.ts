/**
 * The `transaction` option of `managedQueue.enqueue`: an `afterCommit(callback)` transaction, or a
 * transaction the job store writes in (see {@link inStoreTransaction}). Checked the same for both
 * engines, before anything is written.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';
import type { JobStore } from './job-store.js';
import { inStoreTransaction } from './job-writer.js';

/**
 * Returns `transaction` when `store` can take it (in the store's transaction, or after commit);
 * throws `INVALID_OPTION`, or `NOT_SUPPORTED` for a database transaction the store cannot write in.
 */
export function checkTransaction(store: JobStore, transaction: unknown): object | undefined {
  if (transaction === undefined) return undefined;
  if (typeof transaction !== 'object' || transaction === null) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `transaction must be an object (with afterCommit(callback), or the job store's transaction), got ${describe(transaction)}`,
    );
  }
  if (
    !inStoreTransaction(store, transaction) &&
    typeof (transaction as { afterCommit?: unknown }).afterCommit !== 'function'
  ) {
    // A database client or transaction the store cannot write in: the feature is missing here.
    if (looksLikeDatabaseTransaction(transaction)) {
      throw new ClusterError(
        ErrorCodes.NOT_SUPPORTED,
        `managedQueue.enqueue: the "${store.kind}" job store cannot write inside a database transaction (use the PostgreSQL adapters, or pass a transaction with afterCommit(callback))`,
        { details: { feature: 'transaction' } },
      );
    }
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `transaction must have an afterCommit(callback) method (the "${store.kind}" job store cannot write inside a transaction), got ${describe(transaction)}`,
    );
  }
  return transaction;
}

/** A pg client (anything with `query`) or a Sequelize transaction: a database transaction of some kind. */
function looksLikeDatabaseTransaction(transaction: object): boolean {
  return 'sequelize' in transaction || typeof (transaction as { query?: unknown }).query === 'function';
}
