/**
 * Fair lock on one Redis (or one Redis Cluster slot per key). The lease is a string `<owner> <token>`
 * with `PX`; waiters stand in a per-key line (a list, plus a hash of places that lapse unless
 * renewed); every step is one Lua script (lua/lock-scripts.ts), so only the head of the line can take
 * a free lease, and a release hands the lease straight to the head and PUBLISHes the new owner and
 * token on the key's channel — the next holder needs no round trip of its own. Fencing tokens come
 * from a counter that never expires and is re-seeded from the server clock if it is ever lost.
 */
import type { LockAdapter, LockCapabilities } from 'clusterkit/adapter-kit';
import type { LockEvent, TryAcquireOptions, TryAcquireResult } from 'clusterkit/adapter-kit';
import { guard, unavailable, whileOpen, type RedisConnections } from './connection.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { ACQUIRE, EXTEND, LEAVE, RELEASE } from './lua/lock-scripts.js';
import { runScript } from './lua/run-script.js';

/** Key layout of one lock: lease, fencing counter, line and places (one hash slot) and notification channel. */
export function lockKeys(
  prefix: string,
  key: string,
): { lease: string; fence: string; line: string; places: string; channel: string } {
  const base = `${prefix}:lock:{${key}}`;
  return {
    lease: base,
    fence: `${base}:fence`,
    line: `${base}:line`,
    places: `${base}:places`,
    channel: `${base}:released`,
  };
}

/** The keys a lock script is called with (lease, counter, line, places) and the key's channel. */
interface ScriptKeys {
  readonly keys: readonly [string, string, string, string];
  readonly channel: string;
}

/** How many keys' names {@link RedisLockAdapter} keeps built (a program locks a few keys over and over). */
const KEY_CACHE_SIZE = 256;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Parses a notification: `r` (freed) or `g <owner> <token> <ttl ms> <server ms>` (handed on). */
function parseEvent(message: string, toLocal: (serverMs: number) => number): LockEvent | undefined {
  if (message === 'r' || message === '1') return { type: 'released' };
  const match = /^g (.*) (\d+) (\d+) (\d+)$/.exec(message);
  if (!match) return undefined;
  return {
    type: 'granted',
    owner: match[1]!,
    fencingToken: Number(match[2]),
    ttlMs: Number(match[3]),
    grantedAt: toLocal(Number(match[4])),
  };
}

/** Single-Redis lock adapter for one node. */
export class RedisLockAdapter extends RedisAdapterBase implements LockAdapter {
  readonly capabilities: LockCapabilities = Object.freeze({ fifo: true });
  private readonly unsubscribers = new Set<() => Promise<void>>();
  /**
   * Local clock minus server clock, from the last acquire attempt: the request left at local time
   * `sentAt` and ran at server time `now`, so server time X happened at local time ≥ X + (sentAt − now).
   */
  private clockOffset: number | undefined;
  /** Built key names of recently used locks: an acquire+release need not build them twice. */
  private readonly keyCache = new Map<string, ScriptKeys>();

  constructor(connections: RedisConnections) {
    super(connections, 'Redis lock adapter');
  }

  protected async dropResources(): Promise<void> {
    const subs = [...this.unsubscribers];
    this.unsubscribers.clear();
    await Promise.allSettled(subs.map((unsubscribe) => unsubscribe()));
  }

  async tryAcquire(key: string, owner: string, ttlMs: number, options?: TryAcquireOptions): Promise<TryAcquireResult> {
    const client = this.client();
    const { keys } = this.keysOf(key);
    const sentAt = Date.now();
    const queueMs = options?.queueMs === undefined ? 0 : Math.max(0, Math.floor(options.queueMs));
    let reply: number | number[];
    try {
      // EVALSHA called directly (no runScript/whileOpen layers): this is the uncontended hot path.
      reply = (await client.evalsha(
        ACQUIRE.sha,
        4,
        keys[0],
        keys[1],
        keys[2],
        keys[3],
        owner,
        ttlMs,
        queueMs,
      )) as number | number[];
    } catch (error) {
      // NOSCRIPT (first call on this server, or after its restart): load it the slow way; any other
      // failure is reported as whileOpen reports it.
      const retry = isNoScript(error)
        ? () => runScript(client, ACQUIRE, keys, [owner, ttlMs, queueMs])
        : () => Promise.reject(error);
      reply = (await whileOpen(() => this.connected, 'lock acquire', retry)) as number | number[];
    }
    // Taken uncontended: the reply is the bare fencing token.
    if (typeof reply === 'number') return { acquired: true, fencingToken: reply };
    // A contended attempt also returns the server clock (last element).
    const timed = reply[0] === 1 ? reply.length === 4 : reply.length === 3;
    if (timed) this.clockOffset = sentAt - Number(reply[reply.length - 1]);
    if (reply[0] === 1) {
      const remainingMs = Number(reply[2]);
      return remainingMs < ttlMs
        ? { acquired: true, fencingToken: Number(reply[1]), remainingMs: Math.max(0, remainingMs) }
        : { acquired: true, fencingToken: Number(reply[1]) };
    }
    // -2: expired between the check and PTTL; -1 cannot happen for our keys. Either way: retry soon.
    return { acquired: false, retryAfterMs: Math.max(1, Number(reply[1])) };
  }

  async release(key: string, owner: string, fencingToken?: number): Promise<boolean> {
    // The lease value as this owner was given it: the script's fast path compares it whole.
    const given = fencingToken === undefined ? '' : `${owner} ${fencingToken}`;
    return (await this.handOn(RELEASE, 'lock release', key, owner, given)) === 1;
  }

  async leave(key: string, owner: string): Promise<void> {
    await this.handOn(LEAVE, 'lock leave', key, owner, '');
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const client = this.client();
    const { lease } = lockKeys(this.connections.prefix, key);
    return (await guard('lock extend', () => runScript(client, EXTEND, [lease], [owner, ttlMs]))) === 1;
  }

  async onRelease(key: string, listener: (event: LockEvent) => void): Promise<() => Promise<void>> {
    this.assertConnected();
    const { channel } = lockKeys(this.connections.prefix, key);
    const toLocal = (serverMs: number) =>
      this.clockOffset === undefined ? Date.now() : Math.min(Date.now(), serverMs + this.clockOffset);
    const unlisten = await whileOpen(
      () => this.connected,
      'lock onRelease',
      () =>
        this.connections.subscriber.listen(channel, (message) => {
          const event = parseEvent(message, toLocal);
          if (event) listener(event);
        }),
    );
    const unsubscribe = async () => {
      this.unsubscribers.delete(unsubscribe);
      await unlisten();
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  /** Runs the release or leave script: both pass a lease the caller holds on to the next in line. */
  private async handOn(
    script: typeof RELEASE,
    what: string,
    key: string,
    owner: string,
    given: string,
  ): Promise<unknown> {
    const client = this.client();
    const { keys, channel } = this.keysOf(key);
    try {
      return await client.evalsha(script.sha, 4, keys[0], keys[1], keys[2], keys[3], owner, channel, given);
    } catch (error) {
      if (!isNoScript(error)) throw unavailable(`Redis ${what} failed`, error);
      return guard(what, () => runScript(client, script, keys, [owner, channel, given]));
    }
  }

  /** The script keys and channel of `key`, built once while the key is in use. */
  private keysOf(key: string): ScriptKeys {
    let cached = this.keyCache.get(key);
    if (!cached) {
      const { lease, fence, line, places, channel } = lockKeys(this.connections.prefix, key);
      cached = { keys: [lease, fence, line, places], channel };
      if (this.keyCache.size >= KEY_CACHE_SIZE) this.keyCache.clear();
      this.keyCache.set(key, cached);
    }
    return cached;
  }
}
