/**
 * `startNodes`: the conformance suites' way to bring up several nodes of one test cluster at once.
 */
import type { App } from 'clusterkit';
import type { TestCluster } from './cluster.js';

/** Creates `count` nodes of `cluster` (each with `options`), starts them all, and returns them in order. */
export async function startNodes(
  cluster: TestCluster,
  count: number,
  options?: Parameters<TestCluster['node']>[0],
): Promise<App[]> {
  const apps = Array.from({ length: count }, () => cluster.node(options));
  await Promise.all(apps.map((app) => app.start()));
  return apps;
}
