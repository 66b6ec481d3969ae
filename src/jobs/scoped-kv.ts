/**
 * A portable key/value store scoped to one plugin + tenant + organization (+ sub-scope), on the
 * app's cache store: the same calls work on memory and on Redis. Keys are escaped
 * ({@link buildScopedKey}), so a plugin can never reach another tenant's keys through this API.
 */
import type { CacheStore } from '../cache/types.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertDuration, assertInteger, assertOptions, describe } from '../validation.js';
import { buildScopedKey, type ResolvedScope } from './scoped-key.js';

/** Options of {@link ScopedKv.set}. */
export interface ScopedKvSetOptions {
  /** Only set when the key does not exist (SET NX). @default false */
  nx?: boolean;
  /** Time to live in ms (SET PX). @default no expiry */
  px?: number;
}

/** A scoped, portable KV (see {@link createScopedKv}). Values are strings, as in Redis. */
export interface ScopedKv {
  /** The full key a part list maps to (for logs and native clients). */
  key(...parts: (string | number)[]): string;
  get(key: string): Promise<string | undefined>;
  /** Returns false only when `nx` was given and the key existed. */
  set(key: string, value: string, options?: ScopedKvSetOptions): Promise<boolean>;
  /** Atomically adds `by` (default 1); `ttlMs` applies when the key is created. */
  incr(key: string, by?: number, ttlMs?: number): Promise<number>;
  /** Returns whether the key existed. */
  del(key: string): Promise<boolean>;
  /** Sets a TTL in ms on an existing key; false when it does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
}

/** Creates the scoped KV of `scope` on `store`, with keys under the app's namespace. */
export function createScopedKv(store: CacheStore, appName: string, scope: ResolvedScope): ScopedKv {
  const full = (key: unknown) => {
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `kv key must be a string, got ${describe(key)}`);
    }
    return buildScopedKey(appName, scope, [key]);
  };
  const value = (v: unknown) => {
    if (typeof v !== 'string') {
      throw new ClusterError(
        ErrorCodes.INVALID_ARGUMENT,
        `kv value must be a string (serialize first), got ${describe(v)}`,
      );
    }
    return v;
  };
  return {
    key: (...parts) => buildScopedKey(appName, scope, parts),
    get: async (key) => store.get(full(key)),
    async set(key, v, options) {
      const k = full(key);
      const o = assertOptions('kv.set', options, ['nx', 'px']);
      const ttlMs = o.px === undefined ? undefined : assertDuration('px', o.px);
      if (o.nx !== undefined && typeof o.nx !== 'boolean') {
        throw new ClusterError(ErrorCodes.INVALID_OPTION, `nx must be a boolean, got ${describe(o.nx)}`);
      }
      return store.set(k, value(v), { nx: o.nx === true, ...(ttlMs === undefined ? {} : { ttlMs }) });
    },
    async incr(key, by = 1, ttlMs) {
      const k = full(key);
      assertInteger('by', by, Number.MIN_SAFE_INTEGER);
      return store.incr(k, by, ttlMs === undefined ? undefined : assertDuration('ttlMs', ttlMs));
    },
    del: async (key) => store.del(full(key)),
    async expire(key, ttlMs) {
      const k = full(key);
      return store.expire(k, assertDuration('ttlMs', ttlMs));
    },
  };
}
