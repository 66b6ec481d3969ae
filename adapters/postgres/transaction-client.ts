/**
 * Finds the database connection behind the `transaction` a caller hands to
 * `eventQueue.publish(..., { transaction })`, so the message is written by the caller's own
 * transaction: it then exists if and only if that transaction commits.
 *
 * Accepted: a `pg.Client` / `pg.PoolClient` the caller has sent `BEGIN` on, and a Sequelize
 * transaction (as NocoBase passes around), whose `connection` is the `pg.Client` it runs on.
 */
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import type { Queryable } from './connection.js';

/** What pg's Client keeps about the last ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' failed one. */
interface PgClientLike extends Queryable {
  _txStatus?: string | null;
  _queryQueue?: unknown[];
  _activeQuery?: unknown;
}

interface SequelizeTransactionLike {
  sequelize: unknown;
  connection?: unknown;
  finished?: string;
}

function isQueryable(value: unknown): value is PgClientLike {
  return typeof value === 'object' && value !== null && typeof (value as Queryable).query === 'function';
}

function refuse(call: string, message: string, code: string = ErrorCodes.INVALID_ARGUMENT): ClusterError {
  return new ClusterError(code as typeof ErrorCodes.INVALID_ARGUMENT, `${call}: ${message}`, {
    details: { option: 'transaction' },
  });
}

/**
 * Does `transaction` look like something {@link transactionClient} takes (a pg client or a Sequelize
 * transaction), rather than another kind of transaction object (e.g. a bare `{ afterCommit }`)?
 */
export function isDatabaseTransaction(transaction: unknown): boolean {
  return (
    typeof transaction === 'object' &&
    transaction !== null &&
    ('sequelize' in transaction || typeof (transaction as { query?: unknown }).query === 'function')
  );
}

/**
 * The client to write on, or a `ClusterError` saying why `transaction` cannot be used. `call` names
 * the API in the error (`eventQueue.publish`, `managedQueue.enqueue`).
 */
export function transactionClient(transaction: unknown, call = 'eventQueue.publish'): Queryable {
  let client: unknown = transaction;
  if (typeof transaction === 'object' && transaction !== null && 'sequelize' in transaction) {
    const t = transaction as SequelizeTransactionLike;
    if (t.finished)
      throw refuse(call, `the Sequelize transaction is already finished (${t.finished})`, ErrorCodes.INVALID_STATE);
    client = t.connection;
    if (!isQueryable(client)) {
      throw refuse(
        call,
        'the Sequelize transaction has no PostgreSQL connection (is its dialect postgres, and has it started?)',
      );
    }
  }
  if (!isQueryable(client)) {
    throw refuse(
      call,
      'transaction must be a pg.PoolClient/pg.Client in an open transaction, or a Sequelize transaction',
    );
  }
  if (typeof (client as { connect?: unknown }).connect === 'function' && 'totalCount' in client) {
    throw refuse(call, 'transaction is a pg.Pool; give the client you ran BEGIN on (pool.connect())');
  }
  // pg records the transaction status of the last ReadyForQuery. With nothing queued on the client,
  // 'I' means no BEGIN (the write would commit on its own) and 'E' a failed transaction.
  const idleClient = !client._activeQuery && (client._queryQueue?.length ?? 0) === 0;
  if (idleClient && client._txStatus === 'I') {
    throw refuse(call, 'the client is not in a transaction (run BEGIN first)', ErrorCodes.INVALID_STATE);
  }
  if (idleClient && client._txStatus === 'E') {
    throw refuse(call, 'the transaction has failed; roll it back', ErrorCodes.INVALID_STATE);
  }
  return client;
}

/** SQLSTATE of a statement sent into a transaction that has already failed. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * Runs `fn` (statements on the caller's transaction); a transaction found failed (SQLSTATE 25P02:
 * an earlier statement failed, possibly one still on the wire when the checks above looked) becomes
 * `INVALID_STATE`, like the checks say, instead of looking like an unavailable database.
 */
export async function inCallerTransaction<T>(call: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const cause = error instanceof ClusterError ? error.cause : error;
    if ((cause as { code?: unknown } | undefined)?.code === IN_FAILED_TRANSACTION) {
      throw refuse(call, 'the transaction has failed; roll it back', ErrorCodes.INVALID_STATE);
    }
    throw error;
  }
}
