/**
 * Shared helpers of the managed-job suites: start nodes of a test cluster with managed-queue
 * options suited to tests (short grace periods and refresh intervals), and small job handlers.
 */
import type { App, ManagedQueueOptions } from 'clusterkit';
import { it } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';

/** Managed-queue options that keep the suites fast (every value is still a real deadline, not a sleep). */
export const FAST: ManagedQueueOptions = {
  processorGraceMs: 1_500,
  heartbeatTtlMs: 1_500,
  handBackDelayMs: 20,
  pausedRecheckMs: 100,
  scheduleRefreshMs: 100,
  ticketRepairMs: 1_000,
};

/** Makes and starts one node with {@link FAST} options merged with `options`. */
export async function startNode(cluster: TestCluster, options: ManagedQueueOptions = {}): Promise<App> {
  const app = cluster.node({ managedQueue: { ...FAST, ...options } });
  await app.start();
  return app;
}

/** A plugin name unique to this test. */
export function pluginOf(label: string): string {
  return `plugin-${label}`;
}

/**
 * What a managed-job suite case needs beyond the core every engine supports (enqueue, handlers,
 * outcomes and retries, getJob, waitForJob, cancel): a backend's factory lists the ones its engine
 * has (`managedFeatures`), and a case needing one it lacks is not registered for it.
 */
export type ManagedFeature =
  /** The one physical event-queue queue and its tickets (the record + ticket engine). */
  | 'physical-queue'
  /** `managedQueue.jobStore` (the job-store contract). */
  | 'job-store'
  | 'transaction'
  /** `retry`, `remove`, `promote`. */
  | 'operator-calls'
  /** `listJobs`, `getMetrics`, `getQueueStats`, `clean`. */
  | 'queries'
  | 'pause'
  /** A node without the handler hands its tickets back. */
  | 'hand-back'
  /** A job whose node stopped mid-run runs elsewhere, its lost attempt in the history. */
  | 'takeover'
  | 'no-processor'
  | 'global-concurrency'
  | 'rate-limit'
  | 'schedules'
  /** Held and parked tickets of a full lane. */
  | 'busy-lane';

/** `it` when `factory`'s engine has every feature in `needs`; otherwise registers nothing. */
export function caseFor(factory: ClusterFactory, ...needs: ManagedFeature[]): typeof it {
  const has = factory.managedFeatures;
  if (has === undefined || needs.every((n) => has.has(n))) return it;
  return (() => undefined) as unknown as typeof it;
}
