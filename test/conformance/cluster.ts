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
  /** Stops every node made, and removes everything this cluster wrote to the backend. */
  dispose(): Promise<void>;
}

/** Describes a backend to the suites. */
export interface ClusterFactory {
  /** Shown in test names: 'memory', 'redis', 'rabbitmq', 'redis-cluster', ... */
  readonly label: string;
  /** Makes a fresh cluster with a random app name. */
  create(): TestCluster;
}
