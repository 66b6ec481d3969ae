/**
 * `installClusterkit(app, { adapters })`: puts clusterkit under an unmodified NocoBase application.
 * Called right after `new Application(...)` (before `load`/`start`), it gives NocoBase's own
 * managers clusterkit adapters — `app.eventQueue`, `app.pubSubManager`, the lock manager's default
 * adapter and `app.workerIdAllocator` — and checks their input. NocoBase rebuilds those managers on
 * every reload (`app.init()`); the installation follows, so a reloaded app stays clustered. It
 * stops the clusterkit node when NocoBase stops, and `uninstall()` gives NocoBase its own adapters back.
 */
import {
  ClusterError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  ErrorCodes,
  describe,
  type App,
  type ClusterAdapters,
  type Logger,
} from 'clusterkit/adapter-kit';
import { ClusterkitEventQueueAdapter, type NocoBaseQueueOptions } from './event-queue-adapter.js';
import { installGuards } from './guards.js';
import { ClusterkitLockAdapter } from './lock-adapter.js';
import type { NocoBaseApp } from './nocobase-types.js';
import { ClusterkitPubSubAdapter } from './pub-sub-adapter.js';
import { BridgeRuntime, nocobaseLogger } from './runtime.js';
import { ClusterkitWorkerIdAllocator } from './worker-id-allocator.js';

/** Options of {@link installClusterkit}. Durations in ms. */
export interface InstallClusterkitOptions {
  /** This node's clusterkit adapters: `createRedisAdapters(...)`, `createRabbitMQAdapters(...)` or both spread. */
  adapters: ClusterAdapters;
  /** Namespace of every queue, channel and key; all nodes of the NocoBase cluster use the same. @default 'nocobase' */
  name?: string;
  /** The queue's NocoBase defaults and clusterkit extras; `false` keeps NocoBase's in-process queue. */
  eventQueue?: NocoBaseQueueOptions | false;
  /** `false` keeps NocoBase's pub/sub (none: sync messages stay local). @default true */
  pubSub?: boolean;
  /** Lock adapter options; `false` keeps NocoBase's in-process locks. */
  lock?:
    | {
        /** Name in the lock manager's registry. @default 'clusterkit' */ adapterName?: string;
        /** See `ClusterkitLockAdapter`. @default 30000 */ reservationTtl?: number;
      }
    | false;
  /** Worker-id lease options; `false` keeps NocoBase's random worker id. */
  workerId?:
    | { /** Lease of a worker id, in ms (a dead node's id is free again after it). @default 30000 */ lease?: number }
    | false;
  /** How long stopping waits for running queue handlers before aborting their signals, in ms. @default 10000 */
  stopGracePeriodMs?: number;
  /** Where clusterkit logs. @default NocoBase's `app.logger` */
  logger?: Logger;
}

/** What {@link installClusterkit} returns. */
export interface ClusterkitInstallation {
  /** The clusterkit node underneath: dead letters (`eventQueue.listDeadLetters`), counts, locks with fencing, ... */
  readonly clusterkit: App;
  /** The worker id this node leased, once NocoBase asked for it. */
  readonly workerId: number | undefined;
  /** Gives NocoBase its own adapters back and stops the clusterkit node. Refused while the app runs. */
  uninstall(): Promise<void>;
}

const INSTALLATION = Symbol.for('clusterkit.nocobase.installation');

/** The installation on `app`, if clusterkit is installed there. */
export function clusterkitInstallation(app: object): ClusterkitInstallation | undefined {
  return (app as { [INSTALLATION]?: ClusterkitInstallation })[INSTALLATION];
}

/** Installs clusterkit under a NocoBase `Application` (see the module comment). */
export function installClusterkit(app: NocoBaseApp, options: InstallClusterkitOptions): ClusterkitInstallation {
  assertNocoBaseApp(app);
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.adapters !== 'object' ||
    options.adapters === null
  ) {
    throw new ClusterError(
      ErrorCodes.INVALID_ARGUMENT,
      `installClusterkit needs { adapters }, got ${describe(options)}`,
    );
  }
  if (clusterkitInstallation(app)) {
    throw new ClusterError(ErrorCodes.INVALID_STATE, `clusterkit is already installed on NocoBase app "${app.name}"`);
  }
  if (app.eventQueue.isConnected()) {
    throw new ClusterError(ErrorCodes.INVALID_STATE, 'installClusterkit must be called before the NocoBase app starts');
  }
  const runtime = new BridgeRuntime({
    name: options.name,
    adapters: options.adapters,
    logger: options.logger ?? nocobaseLogger(() => app.logger),
    stopGracePeriodMs: options.stopGracePeriodMs,
  });
  const lockName = options.lock === false ? undefined : (options.lock?.adapterName ?? 'clusterkit');
  let allocator: ClusterkitWorkerIdAllocator | undefined;
  let restore: () => void = () => {};

  /** Gives the app's current managers clusterkit adapters; remembers how to undo it. */
  const apply = () => {
    const steps: (() => void)[] = [];
    const target = app as unknown as Record<string, any>;
    if (options.eventQueue !== false) {
      const previous = target.eventQueue.adapter;
      app.eventQueue.setAdapter(new ClusterkitEventQueueAdapter(runtime, options.eventQueue ?? {}));
      steps.push(() => app.eventQueue.setAdapter(previous));
    }
    if (options.pubSub !== false) {
      const previous = target.pubSubManager.adapter;
      app.pubSubManager.setAdapter(new ClusterkitPubSubAdapter(runtime));
      steps.push(() => app.pubSubManager.setAdapter(previous));
    }
    if (lockName !== undefined) {
      const lockOptions = { runtime, reservationTtl: options.lock ? options.lock.reservationTtl : undefined };
      // NocoBase's registry refuses a key twice and its manager caches adapter instances by name:
      // an earlier installation's entry (installed, uninstalled, installed again) goes first.
      forgetLockAdapter(target.lockManager, lockName);
      app.lockManager.registerAdapter(lockName, { Adapter: ClusterkitLockAdapter, options: lockOptions });
      // NocoBase's LockManager reads its default adapter's name from its options on every call.
      const managerOptions = (target.lockManager.options ??= {});
      const previous = managerOptions.defaultAdapter;
      managerOptions.defaultAdapter = lockName;
      steps.push(() => {
        managerOptions.defaultAdapter = previous;
        forgetLockAdapter(target.lockManager, lockName);
      });
    }
    if (options.workerId !== false) {
      const previous = target.workerIdAllocator.adapter;
      allocator = new ClusterkitWorkerIdAllocator(runtime, { scope: app.name, lease: options.workerId?.lease });
      app.workerIdAllocator.setAdapter(allocator);
      steps.push(() => app.workerIdAllocator.setAdapter(previous));
    }
    steps.push(installGuards(app, DEFAULT_MAX_PAYLOAD_BYTES));
    restore = () => {
      for (const step of steps.reverse()) step();
    };
  };

  const onStop = async () => {
    await runtime.stop();
  };
  // NocoBase releases its worker id on stop but keeps using the number after a start without load.
  const onStart = async () => {
    const id = (app as { instanceId?: unknown }).instanceId;
    if (allocator && allocator.workerId === undefined && typeof id === 'number') await allocator.reclaim(id);
  };
  const listen = () => {
    if (!app.listeners('afterStop').includes(onStop)) app.on('afterStop', onStop);
    if (!app.listeners('beforeStart').includes(onStart)) app.on('beforeStart', onStart);
  };
  // NocoBase rebuilds its managers (and drops listeners added through a plugin's app proxy) in init().
  const init = (app as unknown as { init: () => unknown }).init;
  const reinit = function (this: unknown, ...args: unknown[]) {
    const result = (init as (...a: unknown[]) => unknown).apply(this, args);
    apply();
    listen();
    return result;
  };
  (app as unknown as { init: unknown }).init = reinit;
  apply();
  listen();

  const installation: ClusterkitInstallation = {
    clusterkit: runtime.app,
    get workerId() {
      return allocator?.workerId;
    },
    async uninstall() {
      if (app.eventQueue.isConnected()) {
        throw new ClusterError(ErrorCodes.INVALID_STATE, 'stop the NocoBase app before uninstalling clusterkit');
      }
      if ((app as unknown as { init: unknown }).init === reinit) delete (app as unknown as { init?: unknown }).init;
      app.off('afterStop', onStop);
      app.off('beforeStart', onStart);
      restore();
      restore = () => {};
      delete (app as { [INSTALLATION]?: unknown })[INSTALLATION];
      await runtime.stop();
    },
  };
  (app as { [INSTALLATION]?: ClusterkitInstallation })[INSTALLATION] = installation;
  return installation;
}

/** Drops `name` from a NocoBase LockManager's registry and its cache of connected adapters. */
function forgetLockAdapter(
  lockManager: { registry?: { map?: Map<string, unknown> }; adapters?: Map<string, unknown> },
  name: string,
): void {
  lockManager.registry?.map?.delete(name);
  lockManager.adapters?.delete(name);
}

function assertNocoBaseApp(app: unknown): asserts app is NocoBaseApp {
  const a = app as Partial<NocoBaseApp> | null;
  const ok =
    typeof a === 'object' &&
    a !== null &&
    typeof a.eventQueue?.setAdapter === 'function' &&
    typeof a.pubSubManager?.setAdapter === 'function' &&
    typeof a.lockManager?.registerAdapter === 'function' &&
    typeof a.workerIdAllocator?.setAdapter === 'function' &&
    typeof (a as { init?: unknown }).init === 'function';
  if (!ok) {
    throw new ClusterError(
      ErrorCodes.INVALID_ARGUMENT,
      `installClusterkit needs a NocoBase Application (with eventQueue, pubSubManager, lockManager, workerIdAllocator), got ${describe(app)}`,
    );
  }
}
