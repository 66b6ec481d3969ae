/**
 * `clusterkit/nocobase` — the bridge that clusters an unmodified NocoBase application on clusterkit:
 * `installClusterkit(app, { adapters })`, the NocoBase adapter classes for hosts that wire them by
 * hand, and `PluginClusterkit` for clustering by environment. `@nocobase/server` and
 * `@nocobase/lock-manager` are optional peer dependencies, loaded only by this entry. See docs/nocobase.md.
 */
export { installClusterkit, clusterkitInstallation } from './install.js';
export type { InstallClusterkitOptions, ClusterkitInstallation } from './install.js';
export { clusterkitForEveryApplication } from './every-application.js';
export { installClusterkitFromEnv, PluginClusterkit } from './plugin.js';
export type { EnvInstallOptions } from './plugin.js';
export { ClusterkitEventQueueAdapter } from './event-queue-adapter.js';
export type { NocoBaseQueueOptions } from './event-queue-adapter.js';
export { ClusterkitPubSubAdapter } from './pub-sub-adapter.js';
export { ClusterkitLockAdapter } from './lock-adapter.js';
export type { ClusterkitLockAdapterOptions, FencedLease, FencedLock, FencedReleaser } from './lock-adapter.js';
export { ClusterkitWorkerIdAllocator, WORKER_ID_COUNT } from './worker-id-allocator.js';
export type { WorkerIdAllocatorOptions } from './worker-id-allocator.js';
export { BridgeRuntime } from './runtime.js';
export type { BridgeRuntimeOptions } from './runtime.js';
export { IdleGate } from './idle-gate.js';
export type * from './nocobase-types.js';
