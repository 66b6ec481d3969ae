/**
 * The root entry is the public API; `clusterkit/adapter-kit` is that plus what adapter authors need.
 * The names below moved from the root to the kit (see CHANGELOG.md); an app imports none of them.
 */
import { describe as suite, expect, it } from 'vitest';
import * as root from 'clusterkit';
import * as kit from 'clusterkit/adapter-kit';

/** Internal helpers and adapter contracts' runtime parts: in the kit, not in the root. */
const MOVED_TO_KIT = [
  'assertName',
  'assertOptions',
  'assertDuration',
  'assertInteger',
  'assertFunction',
  'describe',
  'serializePayload',
  'timerDelay',
  'encodeEnvelope',
  'decodeEnvelope',
  'escapeKeyPart',
  'unescapeKeyPart',
  'appScopedName',
  'cacheNamespace',
  'standaloneContext',
  'defaultLogger',
  'throttledWarning',
  'serializeError',
  'backoffDelay',
  'normalizeBackoff',
  'jobStoreKit',
  'createMemoryJobStore',
  'PortableJobStore',
  'resolveManagedQueueOptions',
] as const;

/** Every runtime name of the root entry. A new public export is a decision: add it here on purpose. */
const ROOT_RUNTIME_NAMES = [
  'App',
  'Cache',
  'CacheManager',
  'ClusterError',
  'DEFAULT_LOCK_TTL_MS',
  'DEFAULT_MEMORY_CACHE_MAX_ENTRIES',
  'ErrorCodes',
  'EventQueueManager',
  'JobCancelledError',
  'JobFailedError',
  'LockAcquireError',
  'LockManager',
  'MAX_DELAY_MS',
  'MAX_JOB_LOG_LINES',
  'MAX_JOB_LOG_LINE_BYTES',
  'MAX_PRIORITY',
  'MAX_RETRIES_LIMIT',
  'ManagedQueue',
  'MemoryBackend',
  'MemoryCacheStore',
  'MemoryEventQueueAdapter',
  'MemoryLockAdapter',
  'MemoryPubSubAdapter',
  'Plugin',
  'PluginJobProcessor',
  'PluginManager',
  'PubSubManager',
  'QueueTimeoutError',
  'SyncMessageManager',
  'UnrecoverableError',
  'adaptersFromEnv',
  'backendsFromEnv',
  'captureTraceContext',
  'createApp',
  'createMemoryAdapters',
  'createMemoryBackend',
  'currentTenant',
  'injectTraceContext',
  'isClusterError',
  'jobSpanAttributes',
  'jobSpanName',
  'loadOpenTelemetry',
  'runInSpan',
  'runWithTenant',
  'runWithoutTenant',
  'silentLogger',
  'tracingEnabled',
];

suite('clusterkit and clusterkit/adapter-kit', () => {
  it('the root entry no longer exports the internal helpers', () => {
    const exported = MOVED_TO_KIT.filter((name) => name in root);
    expect(exported).toEqual([]);
  });

  it('clusterkit/adapter-kit exports them', () => {
    for (const name of MOVED_TO_KIT) expect(kit[name], name).toBeDefined();
    expect(typeof kit.SharedConnectionAdapter).toBe('function');
    expect(typeof kit.processGlobal).toBe('function');
  });

  it('the root entry exports exactly the public runtime names', () => {
    expect(Object.keys(root).sort()).toEqual([...ROOT_RUNTIME_NAMES].sort());
  });

  it('every root export is the very object the kit exports (one copy of the core)', () => {
    for (const [name, value] of Object.entries(root)) expect(kit[name as keyof typeof kit], name).toBe(value);
  });

  it('an error thrown by the core is a ClusterError of both entries', () => {
    let error: unknown;
    try {
      kit.assertName('channel', '');
    } catch (e) {
      error = e;
    }
    expect(Function.prototype[Symbol.hasInstance].call(root.ClusterError, error)).toBe(true);
    expect(root.isClusterError(error) && kit.isClusterError(error)).toBe(true);
  });
});
