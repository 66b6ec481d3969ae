/**
 * Work that follows a caller's transaction: `transaction.afterCommit(callback)` (Sequelize's hook
 * and the like). One place for the enqueue paths that need it — the record + ticket layer on a store
 * that cannot write inside the transaction (job-writer.ts) and the native engines' add
 * (native-transaction.ts): a rollback never runs the work, and the hook returns the work's promise,
 * settled and never rejected, so a `commit()` that awaits its hooks returns with the work done.
 */

/** Registers `work` to run once the transaction commits. */
export type AfterCommit = (work: () => Promise<unknown>) => void;

/**
 * `transaction`'s `afterCommit` as an {@link AfterCommit} whose work's failure goes to `report`
 * (the commit itself has happened), or undefined when the transaction has no `afterCommit`.
 */
export function afterCommitOf(transaction: object, report: (error: unknown) => void): AfterCommit | undefined {
  const hook = (transaction as { afterCommit?: unknown }).afterCommit;
  if (typeof hook !== 'function') return undefined;
  return (work) => {
    (hook as (callback: () => unknown) => unknown).call(transaction, () => work().then(() => undefined, report));
  };
}
