/**
 * How the native engine (native-job-engine.ts) closes its workers when its node stops, every wait
 * bounded: running jobs get the grace period, then their signal aborts (`SHUTDOWN`); a handler that
 * ignores it is abandoned after as long again (at least {@link ABANDON_AFTER_MS}): its worker is
 * closed without waiting for it.
 */
import { ClusterError, ErrorCodes, type LazyAbort } from 'clusterkit/adapter-kit';

/** How long a stopping node waits, beyond the grace period, for a handler that ignores its aborted signal. */
export const ABANDON_AFTER_MS = 1_000;

/** A worker's close (`force`: without waiting for its running jobs). */
export type CloseWorker = (force: boolean) => Promise<void>;

/** Closes `workers`, aborting the signals of `running` jobs after `graceMs` (see the module comment). */
export async function closeWorkers(
  workers: readonly CloseWorker[],
  running: ReadonlyMap<string, LazyAbort>,
  graceMs: number,
): Promise<void> {
  const abort = setTimeout(() => {
    for (const entry of running.values()) entry.abort(new ClusterError(ErrorCodes.SHUTDOWN, 'the node is stopping'));
  }, graceMs);
  let abandon: NodeJS.Timeout | undefined;
  const closing = Promise.allSettled(workers.map((close) => close(false)));
  try {
    const done = await Promise.race([
      closing.then(() => true),
      new Promise<false>(
        (resolve) => (abandon = setTimeout(() => resolve(false), graceMs + Math.max(graceMs, ABANDON_AFTER_MS))),
      ),
    ]);
    if (!done) await boundedForceClose(workers);
  } finally {
    clearTimeout(abort);
    clearTimeout(abandon);
  }
}

/** Closes workers without waiting for their running jobs; gives up on them after ABANDON_AFTER_MS. */
async function boundedForceClose(closes: readonly CloseWorker[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(closes.map((close) => close(true))),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ABANDON_AFTER_MS))),
  ]);
  clearTimeout(timer);
}
