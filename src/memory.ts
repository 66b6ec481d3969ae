import type { FullClusterAdapters } from './adapters.js';
import { MemoryCacheStore } from './cache/memory-store.js';
import { MemoryEventQueueAdapter } from './event-queue/memory-adapter.js';
import { MemoryLockAdapter } from './lock/memory-adapter.js';
import { createMemoryBackend, type MemoryBackend } from './memory-backend.js';
import { MemoryPubSubAdapter } from './pub-sub/memory-adapter.js';
import { createMemoryJobStore } from './jobs/memory-job-store.js';

/** Options of {@link createMemoryAdapters}. */
export interface MemoryAdaptersOptions {
  /** Share one backend between apps to make them nodes of one in-process cluster. @default a new backend */
  backend?: MemoryBackend;
  /**
   * Most entries the shared memory store keeps before evicting the least recently used. It is
   * unbounded by default because the managed job layer keeps job state in this store, and an
   * evicted job record would be a lost job; TTLs still expire entries. @default Infinity
   */
  maxCacheEntries?: number;
}

/** In-process adapters for every primitive: zero services, one process. */
export function createMemoryAdapters(options: MemoryAdaptersOptions = {}): FullClusterAdapters {
  const backend = options.backend ?? createMemoryBackend();
  return {
    eventQueue: new MemoryEventQueueAdapter(backend),
    lock: new MemoryLockAdapter(backend),
    pubSub: new MemoryPubSubAdapter(backend),
    cache: new MemoryCacheStore(backend, { maxEntries: options.maxCacheEntries ?? Infinity }),
    jobStore: createMemoryJobStore(backend),
  };
}
