import { createApp, silentLogger, type App, type AppOptions, type ClusterAdapters, type LockAdapter } from 'clusterkit';
import { randomName } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';

/** What a backend provides per test cluster. */
export interface BackendSetup {
  /** Fresh adapter instances for one more node (its own connections, shared backend). */
  adapters(): ClusterAdapters;
  /** Removes what the cluster wrote (keys by prefix, queues, exchanges). Nodes are stopped first. */
  cleanup?(): Promise<void>;
}

/**
 * Wraps a lock adapter so that, once `crashed()` is true, nothing reaches the backend: every call
 * rejects locally and notifications are dropped. `connect`/`close` still pass through, so the
 * node's connections are freed at the end of the test.
 */
function crashable(adapter: LockAdapter, crashed: () => boolean): LockAdapter {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'connect' || property === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        if (crashed()) return Promise.reject(new Error('this node has crashed'));
        if (property === 'onRelease') {
          const listener = args[1] as (...event: unknown[]) => void;
          args[1] = (...event: unknown[]) => {
            if (!crashed()) listener(...event);
          };
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Builds a {@link ClusterFactory} from a per-cluster backend setup. */
export function clusterFactory(label: string, setup: (clusterName: string) => BackendSetup): ClusterFactory {
  return {
    label,
    create(): TestCluster {
      const name = randomName('ck');
      const backend = setup(name);
      const nodes: App[] = [];
      const make = (options: Partial<Omit<AppOptions, 'adapters'>>, adapters: ClusterAdapters) => {
        const app = createApp({
          logger: silentLogger,
          stopGracePeriodMs: 2_000,
          ...options,
          name: options.name ?? name,
          adapters,
        });
        nodes.push(app);
        return app;
      };
      return {
        name,
        node(options = {}) {
          return make(options, backend.adapters());
        },
        crashableNode(options = {}) {
          let crashed = false;
          const adapters = backend.adapters();
          const lock = adapters.lock;
          if (!lock) throw new Error(`the ${label} backend has no lock adapter`);
          const app = make(options, { ...adapters, lock: crashable(lock, () => crashed) });
          return {
            app,
            crash() {
              crashed = true;
            },
          };
        },
        async dispose() {
          await Promise.allSettled(nodes.map((n) => n.stop()));
          await backend.cleanup?.();
        },
      };
    },
  };
}
