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
  | 'busy-lane'
  /** `waitForJob` hears the outcome of a job removed at its end (`removeOnComplete` / `removeOnFail: true`). */
  | 'wait-removed';

/**
 * What the native managed-job engine on Redis (its default) supports beyond the core (its factories'
 * `managedFeatures`: redis-native.test.ts, redis-cluster-native.test.ts).
 */
export const NATIVE_FEATURES: readonly ManagedFeature[] = [
  'takeover',
  'global-concurrency',
  'operator-calls',
  'queries',
  'pause',
  'schedules',
  'transaction',
  'no-processor',
  'wait-removed',
];

/**
 * The features each managed-job suite case needs beyond the core (by case name); a case not listed
 * needs only the core. One list, so what an engine runs is declared in one place.
 */
const CASE_FEATURES: Readonly<Record<string, readonly ManagedFeature[]>> = {
  'carries every logical job on one physical queue inside a versioned envelope without the payload': ['physical-queue'],
  'dead-letters a malformed message on the physical queue and keeps working': ['physical-queue'],
  'waitForJob on a node that did not run the job hears its end while it runs (not only at its deadline)': ['job-store'],
  'holds a transactional enqueue until commit and drops it on rollback': ['transaction'],
  'namespaces caller job ids by plugin and tenant and deduplicates within one tenant': ['queries'],
  'retries with backoff, records the failure, and retry() runs a failed job again': ['operator-calls'],
  'cancels waiting and delayed jobs so they never run, and reports why others cannot be cancelled': ['physical-queue'],
  'shows a tenant only its own jobs, and everything outside any tenant context': ['queries', 'operator-calls'],
  'pauses and resumes a logical queue on every node': ['pause', 'queries'],
  'cleans finished jobs and times out waitForJob with a coded error': ['queries'],
  'removes finished records when asked (removeOnComplete / removeOnFail)': ['pause', 'wait-removed'],
  'a node without the handler hands jobs back without spending attempts': ['hand-back'],
  'takes over a job whose node stopped mid-run, without spending an attempt': ['takeover'],
  'fails a job with NO_PROCESSOR once no live node has had its handler for the grace period': ['no-processor'],
  'a burst of 1,000 jobs for a concurrency-1 handler does not delay another plugin (head-of-line)': ['queries'],
  'local concurrency bounds the jobs of one handler running on one node': ['queries'],
  'globalConcurrency bounds running jobs across nodes; local concurrency bounds one node': ['global-concurrency'],
  'enforces a rate limit cluster-wide': ['rate-limit'],
  'fires a schedule exactly once per tick across three nodes, and lists and removes it': ['schedules'],
  'held and parked tickets run in priority order with one park turn per node': ['busy-lane'],
  '#2 a crash between saving the record and publishing its ticket: re-enqueueing the id repairs the job': [
    'physical-queue',
  ],
  '#2 a crash between saving the record and publishing its ticket: the reconciler republishes it in bound': [
    'physical-queue',
    'queries',
  ],
  '#2 the transaction afterCommit path: a crash after commit is repaired too': ['physical-queue', 'transaction'],
  '#3 duplicate tickets and a dead owner: one takeover, never two runs at once': ['physical-queue', 'job-store'],
  "#5 a tenant's schedule id is namespaced: another tenant using the same id cannot replace it": ['schedules'],
  '#6 a schedule tick whose enqueue fails is run later, not skipped': ['physical-queue', 'schedules'],
  '#9 attempts are counted as BullMQ users read them, and every attempt stays in the history': ['operator-calls'],
  'a held ticket the lane takes runs in its own delivery, in priority order, and is never parked': ['busy-lane'],
  'removes finished, waiting and delayed jobs (they never run), refuses a running one': ['operator-calls'],
  'waitForJob on any node stops waiting when the job is removed before it runs': ['operator-calls'],
  'promotes a delayed job: it runs now, once, with its attempts kept; others say why not': ['operator-calls'],
  'a node that dies between promote and its ticket leaves a job the reconciler runs, once': [
    'operator-calls',
    'job-store',
  ],
  'a node that stops with a busy lane hands its held and parked jobs to another node, unspent': ['busy-lane'],
};

/**
 * The `it` of a managed-job suite for `factory`: registers a case only when the factory's engine has
 * every feature the case needs ({@link CASE_FEATURES}); with no `managedFeatures` declared, all.
 */
export function casesFor(factory: ClusterFactory): typeof it {
  const has = factory.managedFeatures;
  if (has === undefined) return it;
  const filtered = ((name: string, ...rest: unknown[]) => {
    if ((CASE_FEATURES[name] ?? []).every((feature) => has.has(feature))) {
      (it as unknown as (...args: unknown[]) => void)(name, ...rest);
    }
  }) as unknown as typeof it;
  return filtered;
}
