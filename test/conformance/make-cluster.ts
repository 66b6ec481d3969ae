import { createApp, silentLogger, type App, type ClusterAdapters } from 'clusterkit';
import { randomName } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';

/** What a backend provides per test cluster. */
export interface BackendSetup {
  /** Fresh adapter instances for one more node (its own connections, shared backend). */
  adapters(): ClusterAdapters;
  /** Removes what the cluster wrote (keys by prefix, queues, exchanges). Nodes are stopped first. */
  cleanup?(): Promise<void>;
}

/** Builds a {@link ClusterFactory} from a per-cluster backend setup. */
export function clusterFactory(label: string, setup: (clusterName: string) => BackendSetup): ClusterFactory {
  return {
    label,
    create(): TestCluster {
      const name = randomName('ck');
      const backend = setup(name);
      const nodes: App[] = [];
      return {
        name,
        node(options = {}) {
          const app = createApp({
            logger: silentLogger,
            stopGracePeriodMs: 2_000,
            ...options,
            name: options.name ?? name,
            adapters: backend.adapters(),
          });
          nodes.push(app);
          return app;
        },
        async dispose() {
          await Promise.allSettled(nodes.map((n) => n.stop()));
          await backend.cleanup?.();
        },
      };
    },
  };
}
