/**
 * `enqueue(input, { transaction })` on a native engine (native-engine.ts): the engine's add is the
 * broker's own (one BullMQ add on Redis) and cannot take part in a database transaction, so the job
 * is added by the transaction's `afterCommit(callback)` (after-commit.ts), as the record + ticket layer
 * does on a store without transactions (job-writer.ts): a rollback never runs the callback (no job),
 * and a commit that awaits its hooks (Sequelize's `commit()`) returns with the job added.
 */
import { afterCommitOf } from './after-commit.js';
import type { JobRecord } from './envelope.js';
import { nativeNotSupported, type ManagedJobEngine } from './native-engine.js';
import { namespacedJobId } from './scoped-key.js';

/**
 * Registers the add of `record`'s job on `transaction.afterCommit` and returns the job's public id,
 * known now although the job is added later: a caller's `jobId` as usual; else the record's generated
 * UUID, used as the job id in the caller's scope (`<plugin>:<tenant>:<uuid>`), since the engine's own
 * generated ids exist only once the job is added. A failed add is reported to `reportError` (the
 * commit itself has happened). A transaction without `afterCommit` (one the job store writes in
 * itself, on a store with transactions) is `NOT_SUPPORTED` here: the engine cannot write inside it.
 */
export function addAfterCommit(
  engine: ManagedJobEngine,
  record: JobRecord,
  transaction: object,
  reportError: (error: unknown, meta?: Record<string, unknown>) => void,
): string {
  const jobId = record.id.includes(':') ? record.id : namespacedJobId(record.pluginName, record.tenantId, record.id);
  const afterCommit = afterCommitOf(transaction, (error) =>
    reportError(error, { source: 'managedQueue.enqueue', jobId }),
  );
  if (afterCommit === undefined) throw nativeNotSupported('enqueue.transaction', engine.kind);
  record.id = jobId;
  afterCommit(() => engine.add(record));
  return jobId;
}
