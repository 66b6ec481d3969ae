/**
 * Shared helpers of the managed-job suites: start nodes of a test cluster with managed-queue
 * options suited to tests (short grace periods and refresh intervals), and small job handlers.
 */
import type { App, ManagedQueueOptions } from 'clusterkit';
import type { TestCluster } from '../conformance/cluster.js';

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
