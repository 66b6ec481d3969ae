/**
 * Scoped plugin state on the managed queue: `scopedKey`, the portable `kv` and the native
 * `getRedis`. Tenant and organization default to the current tenant; contradicting it is refused
 * (`TENANT_MISMATCH`), and every component is escaped, so no tenant reaches another's keys.
 */
import { EventEmitter } from 'eventemitter3';
import type { CacheStore } from '../cache/types.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { buildScopedKey, resolveScope, scopePrefix } from './scoped-key.js';
import { createScopedKv, type ScopedKv } from './scoped-kv.js';
import type { KeyScope } from './types.js';

/** Base of `ManagedQueue`: the scoped-state half of its API. */
export class ScopedState<E extends EventEmitter.ValidEventTypes> extends EventEmitter<E> {
  constructor(
    private readonly appName: string,
    private readonly storeOf: () => CacheStore,
  ) {
    super();
  }

  /**
   * A key for plugin state: `<app>:plugin:<plugin>:t:<tenant>:o:<org>:s:<scope>:<parts...>`, every
   * component escaped. Use it with any store or with `getRedis()`.
   */
  scopedKey(scope: KeyScope, ...parts: (string | number)[]): string {
    return buildScopedKey(this.appName, resolveScope('scopedKey', scope), parts);
  }

  /** A portable KV (`get/set{nx,px}/incr/del/expire`) under `scope`, on the app's cache store (memory or Redis). */
  kv(scope: KeyScope): ScopedKv {
    return createScopedKv(this.storeOf(), this.appName, resolveScope('kv', scope));
  }

  /**
   * The store's native client (ioredis on Redis) with every key prefixed by the scope's prefix.
   * Throws `NOT_SUPPORTED` on stores without one (memory): use {@link kv} for portable code.
   */
  getRedis<T = unknown>(scope: KeyScope): T {
    const resolved = resolveScope('getRedis', scope);
    const store = this.storeOf();
    if (typeof store.nativeClient !== 'function') {
      throw new ClusterError(
        ErrorCodes.NOT_SUPPORTED,
        `getRedis(): the "${store.kind}" cache store has no native client; use managedQueue.kv(scope) for portable state`,
      );
    }
    return store.nativeClient(scopePrefix(this.appName, resolved)) as T;
  }
}
