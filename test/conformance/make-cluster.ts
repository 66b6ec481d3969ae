import {
  createApp,
  silentLogger,
  type App,
  type AppOptions,
  type ClusterAdapters,
  type LockAdapter,
} from 'clusterkit/adapter-kit';
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
 * rejects locally and notifications are dropped. A call already in flight at the crash whose answer
 * comes after it is rejected too: a dead process never sees it (its effect in the backend, say a
 * lock granted to the dead node, stays and lapses as a crashed holder's would). `connect`/`close`
 * still pass through, so the node's connections are freed at the end of the test.
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
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then((answer: unknown) => {
          if (crashed()) throw new Error('this node has crashed');
          return answer;
        });
      };
    },
  });
}

/**
 * Wraps a lock adapter to call `joined()` whenever a joining attempt (fifo `tryAcquire` with
 * `queueMs`) comes back refused: the node now stands in the backend's line.
 */
function observed(adapter: LockAdapter, joined: () => void): LockAdapter {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== 'tryAcquire') return value.bind(target);
      return async (...args: Parameters<LockAdapter['tryAcquire']>) => {
        const result = await target.tryAcquire(...args);
        if (!result.acquired && args[3]?.queueMs !== undefined) joined();
        return result;
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
      const lines = new Map<App, { joined: boolean; joins: number; waiters: Array<() => void> }>();
      const make = (options: Partial<Omit<AppOptions, 'adapters'>>, given: ClusterAdapters) => {
        const line: { joined: boolean; joins: number; waiters: Array<() => void> } = {
          joined: false,
          joins: 0,
          waiters: [],
        };
        const joined = () => {
          line.joined = true;
          line.joins += 1;
          for (const wake of line.waiters.splice(0)) wake();
        };
        const adapters = given.lock ? { ...given, lock: observed(given.lock, joined) } : given;
        const app = createApp({
          logger: silentLogger,
          stopGracePeriodMs: 2_000,
          ...options,
          name: options.name ?? name,
          adapters,
        });
        nodes.push(app);
        lines.set(app, line);
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
        inLine(app) {
          const line = lines.get(app);
          if (!line) return Promise.reject(new Error('inLine: not a node of this cluster'));
          if (line.joined) return Promise.resolve();
          return new Promise<void>((resolve) => line.waiters.push(resolve));
        },
        lineJoins(app) {
          const line = lines.get(app);
          if (!line) throw new Error('lineJoins: not a node of this cluster');
          return line.joins;
        },
        async dispose() {
          await Promise.allSettled(nodes.map((n) => n.stop()));
          await backend.cleanup?.();
        },
      };
    },
  };
}
