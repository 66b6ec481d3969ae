/**
 * The raw lock baselines on one Redis: redlock (`@sesamecare-oss/redlock`, the maintained fork of
 * node-redlock) with a single client, and the hand-written pattern it implements — `SET key token NX
 * PX ttl` to acquire, a compare-and-delete Lua script to release.
 */
import { randomBytes } from 'node:crypto';
import { Redlock, type Settings } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import { redisClient } from './services.js';

/** Release only when the caller still owns the key. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** One acquire/release pair as a baseline exposes it. */
export interface RawLocker {
  /** Resolves with a release function once the lock is held; rejects when it gives up. */
  acquire(key: string, ttlMs: number): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** redlock on one client. `settings` default to redlock's own (retryCount 10, retryDelay 200 ms, jitter 100 ms). */
export function redlockLocker(settings?: Settings): RawLocker {
  const client = redisClient();
  const redlock = new Redlock([client], settings);
  redlock.on('error', () => undefined);
  return {
    async acquire(key, ttlMs) {
      const lock = await redlock.acquire([key], ttlMs);
      return async () => {
        await lock.release();
      };
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

type ScriptedRedis = Redis & { releaseLock(key: string, token: string): Promise<number> };

/** `SET NX PX` + Lua compare-and-delete; a failed SET is reported as an error (no waiting). */
export function setNxLocker(): RawLocker {
  const client = redisClient() as ScriptedRedis;
  client.defineCommand('releaseLock', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  return {
    async acquire(key, ttlMs) {
      const token = randomBytes(16).toString('hex');
      const ok = await client.set(key, token, 'PX', ttlMs, 'NX');
      if (ok !== 'OK') throw new Error(`lock ${key} is held`);
      return async () => {
        await client.releaseLock(key, token);
      };
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
