/**
 * What a conformance suite is given: a way to make clusters of nodes on one backend. Every adapter
 * test file (memory, redis, rabbitmq, ...) provides one factory and calls every suite with it.
 */
import type { App, AppOptions } from 'clusterkit';

/** One test's cluster: nodes made by it share a backend and (unless told otherwise) an app name. */
export interface TestCluster {
  /** The shared app name of this cluster (random per test). */
  readonly name: string;
  /**
   * Makes one node (not started). `name` overrides the app name (isolation tests);
   * the other options pass through to `createApp`.
   */
  node(options?: Partial<Omit<AppOptions, 'adapters'>>): App;
  /**
   * Makes one node (not started) whose lock adapter can be made to "crash": after `crash()` nothing
   * it does reaches the backend any more (every call rejects locally, no notification reaches it) —
   * what the backend sees of a process that died without cleaning up.
   */
  crashableNode(options?: Partial<Omit<AppOptions, 'adapters'>>): { app: App; crash(): void };
  /**
   * Resolves once `app` (a node of this cluster) stands in a fifo lock's line: one of its lock
   * adapter's joining attempts (`tryAcquire` with `queueMs`) has come back refused. Lets a test
   * order "b is waiting" before the next step without guessing at round trips.
   */
  inLine(app: App): Promise<void>;
  /**
   * How many of `app`'s joining attempts have come back refused so far: a node that joined again
   * since it was last granted the lock stands in the line now.
   */
  lineJoins(app: App): number;
  /** Stops every node made, and removes everything this cluster wrote to the backend. */
  dispose(): Promise<void>;
}

/** Describes a backend to the suites. */
export interface ClusterFactory {
  /** Shown in test names: 'memory', 'redis', 'rabbitmq', 'redis-cluster', ... */
  readonly label: string;
  /** Makes a fresh cluster with a random app name. */
  create(): TestCluster;
  /**
   * The managed-job features (beyond the core every engine has) this backend's engine supports;
   * absent: all of them. The managed-job suites register only the cases whose features are listed
   * (see `caseFor` in test/jobs/jobs-helpers.ts): the native engine declares its list.
   */
  readonly managedFeatures?: ReadonlySet<string>;
}
