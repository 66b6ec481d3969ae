/**
 * Cache store on Redis strings. Keys are `<prefix>:c:<key>` (the cache manager has already
 * namespaced `<key>` by app and cache name); values are the manager's serialized strings, so
 * `null`, `false`, `0` and `''` round-trip. TTLs use PX. `clear()` is SCAN + UNLINK over its own
 * prefix only.
 */
import { Cluster } from 'ioredis';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import type { CacheStore, StoreCasOptions, StoreSetOptions } from 'clusterkit/adapter-kit';
import { closeClient, guard, type RedisClient, type RedisConnections } from './connection.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { COMPARE_AND_SET } from './lua/compare-and-set.js';
import { INCR_WITH_TTL } from './lua/incr-with-ttl.js';
import { runScript } from './lua/run-script.js';
import { clearPrefix, scanKeys, unlinkKeys } from './scan.js';

/** Redis cache store for one node. */
export class RedisCacheStore extends RedisAdapterBase implements CacheStore {
  readonly kind = 'redis';
  private readonly natives = new Map<string, RedisClient>();

  constructor(connections: RedisConnections) {
    super(connections, 'Redis cache store');
  }

  protected async dropResources(): Promise<void> {
    const natives = [...this.natives.values()];
    this.natives.clear();
    await Promise.all(natives.map((client) => closeClient(client)));
  }

  async get(key: string): Promise<string | undefined> {
    const client = this.client();
    return (await guard('GET', () => client.get(this.key(key)))) ?? undefined;
  }

  async mget(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const client = this.client();
    // A Cluster cannot MGET across slots; ioredis pipelines per node for the single GETs.
    const values =
      client instanceof Cluster
        ? await guard('GET', () => Promise.all(keys.map((key) => client.get(this.key(key)))))
        : await guard('MGET', () => client.mget(...keys.map((key) => this.key(key))));
    return values.map((value) => value ?? undefined);
  }

  async set(key: string, value: string, options: StoreSetOptions = {}): Promise<boolean> {
    const client = this.client();
    const full = this.key(key);
    const args: (string | number)[] = [];
    if (options.ttlMs !== undefined) args.push('PX', options.ttlMs);
    if (options.nx) args.push('NX');
    const reply = await guard('SET', () => client.call('SET', full, value, ...args));
    return reply === 'OK';
  }

  async mset(entries: readonly (readonly [string, string])[], ttlMs?: number): Promise<void> {
    if (entries.length === 0) return;
    const client = this.client();
    const ttl = ttlMs === undefined ? [] : ['PX', ttlMs];
    if (client instanceof Cluster) {
      await guard('SET', () => Promise.all(entries.map(([k, v]) => client.call('SET', this.key(k), v, ...ttl))));
      return;
    }
    const pipeline = client.pipeline();
    for (const [k, v] of entries) pipeline.call('SET', this.key(k), v, ...ttl);
    const results = await guard('pipelined SET', () => pipeline.exec());
    const failed = results?.find(([error]) => error);
    if (!results || failed) {
      throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `Redis mset failed: ${failed?.[0]?.message ?? 'aborted'}`);
    }
  }

  async del(key: string): Promise<boolean> {
    const client = this.client();
    return (await guard('UNLINK', () => client.unlink(this.key(key)))) > 0;
  }

  async mdel(keys: readonly string[]): Promise<number> {
    const client = this.client();
    return guard('UNLINK', () =>
      unlinkKeys(
        client,
        keys.map((key) => this.key(key)),
      ),
    );
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    const client = this.client();
    const value = await guard('INCRBY', () => runScript(client, INCR_WITH_TTL, [this.key(key)], [by, ttlMs ?? 0]));
    return Number(value);
  }

  /** One Lua script: GET, compare, SET (with PX) — no other client can write in between. */
  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    options: StoreCasOptions = {},
  ): Promise<boolean> {
    const client = this.client();
    const args = [expected === undefined ? '0' : '1', expected ?? '', value, options.ttlMs ?? 0];
    const written = await guard('compare-and-set', () => runScript(client, COMPARE_AND_SET, [this.key(key)], args));
    return Number(written) === 1;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    const client = this.client();
    return (await guard('PEXPIRE', () => client.pexpire(this.key(key), ttlMs))) === 1;
  }

  async pttl(key: string): Promise<number> {
    const client = this.client();
    return guard('PTTL', () => client.pttl(this.key(key)));
  }

  async *scan(prefix: string): AsyncIterable<string> {
    const client = this.client();
    const base = this.key('');
    try {
      for await (const batch of scanKeys(client, this.key(prefix))) {
        for (const key of batch) yield key.slice(base.length);
      }
    } catch (error) {
      throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `Redis SCAN failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async clear(prefix: string): Promise<void> {
    const client = this.client();
    await guard('SCAN/UNLINK', () => clearPrefix(client, this.key(prefix)));
  }

  /**
   * An ioredis client whose every key is prefixed by `<prefix>:c:<keyPrefix>` — the same namespace
   * as this store's keys. Created on first use (a `duplicate()` of the command connection, with
   * the usual offline queue so plugins' commands wait out a reconnect), cached per prefix, closed
   * on `close()`.
   */
  nativeClient(keyPrefix: string): RedisClient {
    let native = this.natives.get(keyPrefix);
    if (!native) {
      const base = this.client();
      const overrides = { keyPrefix: this.key(keyPrefix), enableOfflineQueue: true, maxRetriesPerRequest: 20 };
      native = base instanceof Cluster ? base.duplicate(undefined, { ...overrides }) : base.duplicate(overrides);
      native.on('error', () => {});
      this.natives.set(keyPrefix, native);
    }
    return native;
  }

  private key(key: string): string {
    return `${this.connections.prefix}:c:${key}`;
  }
}
