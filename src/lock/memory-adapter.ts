/**
 * In-process lock adapter: leases with expiry, a per-key line of waiters and a fencing counter, kept
 * in a {@link MemoryBackend} so every app built on one backend contends for the same locks, first
 * come, first served. Each step is synchronous, hence atomic.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { createMemoryBackend, type MemoryBackend } from '../memory-backend.js';
import type { LockAdapter, LockCapabilities, LockEvent, TryAcquireOptions, TryAcquireResult } from './types.js';

interface Lease {
  readonly owner: string;
  readonly fencingToken: number;
  expiresAt: number;
  /** Fires at `expiresAt`, so the lock passes on (or waiters hear of it) without polling. */
  timer?: NodeJS.Timeout;
}

/** A place in a key's line: it lapses at `deadline` unless its owner renews it. */
interface Place {
  deadline: number;
  ttlMs: number;
}

/**
 * The first token of a counter that is missing: the wall clock in microseconds. A process that
 * restarts (an empty backend) keeps handing out tokens greater than the previous run's, as long as
 * the clock does not go back and fewer than a million tokens per second were drawn.
 */
function seedToken(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The state all memory lock adapters on one backend share. */
class MemoryLockState {
  readonly leases = new Map<string, Lease>();
  /** Last fencing token handed out per key. Never reset, so tokens keep increasing after a release. */
  readonly fencing = new Map<string, number>();
  /** Per key: owners in the order they joined the line, with their places. */
  readonly lines = new Map<string, Map<string, Place>>();
  readonly listeners = new Map<string, Set<(event: LockEvent) => void>>();

  /** Returns the live lease on `key`; one that has run out passes on first. */
  live(key: string, now = Date.now()): Lease | undefined {
    const lease = this.leases.get(key);
    if (lease && lease.expiresAt <= now) {
      this.passOn(key, lease, now);
      return this.leases.get(key);
    }
    return lease;
  }

  /** Ends `lease` and hands the lock to the first waiter whose place has not lapsed, or frees it. */
  passOn(key: string, lease: Lease, now = Date.now()): void {
    clearTimeout(lease.timer);
    if (this.leases.get(key) !== lease) return;
    this.leases.delete(key);
    const line = this.lines.get(key);
    for (const [owner, place] of line ?? []) {
      line!.delete(owner);
      if (place.deadline < now) continue; // a crashed waiter's place lapsed
      if (line!.size === 0) this.lines.delete(key);
      const next = this.grant(key, owner, place.ttlMs, now);
      this.notify(key, { type: 'granted', owner, fencingToken: next.fencingToken, ttlMs: place.ttlMs, grantedAt: now });
      return;
    }
    this.lines.delete(key);
    this.notify(key, { type: 'released' });
  }

  grant(key: string, owner: string, ttlMs: number, now: number): Lease {
    const fencingToken = (this.fencing.get(key) ?? seedToken()) + 1;
    this.fencing.set(key, fencingToken);
    const lease: Lease = { owner, fencingToken, expiresAt: now + ttlMs };
    this.leases.set(key, lease);
    this.arm(key, lease, ttlMs);
    return lease;
  }

  arm(key: string, lease: Lease, ttlMs: number): void {
    clearTimeout(lease.timer);
    lease.expiresAt = Date.now() + ttlMs;
    lease.timer = setTimeout(() => {
      // The timer may fire a hair before Date.now() reaches expiresAt; the lease is over either way.
      if (this.leases.get(key) === lease) this.passOn(key, lease, Math.max(Date.now(), lease.expiresAt));
    }, ttlMs);
    lease.timer.unref();
  }

  /** The first place in `key`'s line that has not lapsed; lapsed ones before it are dropped. */
  head(key: string, now: number): [string, Place] | undefined {
    const line = this.lines.get(key);
    if (!line) return undefined;
    for (const entry of line) {
      if (entry[1].deadline >= now) return entry;
      line.delete(entry[0]);
    }
    this.lines.delete(key);
    return undefined;
  }

  /** Joins the line, or renews the place `owner` already has (keeping its position). */
  join(key: string, owner: string, ttlMs: number, queueMs: number, now: number): void {
    let line = this.lines.get(key);
    if (!line) {
      line = new Map();
      this.lines.set(key, line);
    }
    const place = line.get(owner);
    if (place) {
      place.deadline = now + queueMs;
      place.ttlMs = ttlMs;
    } else line.set(owner, { deadline: now + queueMs, ttlMs });
  }

  leave(key: string, owner: string): void {
    const line = this.lines.get(key);
    line?.delete(owner);
    if (line?.size === 0) this.lines.delete(key);
  }

  notify(key: string, event: LockEvent): void {
    const set = this.listeners.get(key);
    if (!set) return;
    // Deliver asynchronously: a listener must never run inside the caller's critical step.
    for (const listener of [...set]) queueMicrotask(() => listener(event));
  }
}

/**
 * Lock adapter for one process. Several apps given adapters on one backend behave as nodes of one
 * cluster, served first come, first served. An expired lease passes on by a timer at its expiry,
 * so a crashed (never releasing) holder frees the lock on time.
 */
export class MemoryLockAdapter implements LockAdapter {
  readonly capabilities: LockCapabilities = Object.freeze({ fifo: true });
  private readonly state: MemoryLockState;
  /** This node's listeners, removed on close. */
  private readonly subscriptions = new Set<{ key: string; listener: (event: LockEvent) => void }>();
  private connected = false;

  constructor(backend: MemoryBackend = createMemoryBackend()) {
    this.state = backend.part('lock', () => new MemoryLockState());
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async close(): Promise<void> {
    this.connected = false;
    for (const sub of this.subscriptions) this.state.listeners.get(sub.key)?.delete(sub.listener);
    this.subscriptions.clear();
  }

  async tryAcquire(key: string, owner: string, ttlMs: number, options?: TryAcquireOptions): Promise<TryAcquireResult> {
    this.assertConnected();
    const now = Date.now();
    const queueMs = options?.queueMs ?? 0;
    const held = this.state.live(key, now);
    if (held?.owner === owner) {
      return { acquired: true, fencingToken: held.fencingToken, remainingMs: Math.max(0, held.expiresAt - now) };
    }
    if (held) {
      if (queueMs > 0) this.state.join(key, owner, ttlMs, queueMs, now);
      return { acquired: false, retryAfterMs: Math.max(1, held.expiresAt - now) };
    }
    const head = this.state.head(key, now);
    if (head && head[0] !== owner) {
      if (queueMs > 0) this.state.join(key, owner, ttlMs, queueMs, now);
      return { acquired: false, retryAfterMs: Math.max(1, head[1].deadline - now) };
    }
    if (head) this.state.leave(key, owner);
    return { acquired: true, fencingToken: this.state.grant(key, owner, ttlMs, now).fencingToken };
  }

  async release(key: string, owner: string): Promise<boolean> {
    this.assertConnected();
    const lease = this.state.live(key);
    if (!lease || lease.owner !== owner) return false;
    this.state.passOn(key, lease);
    return true;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    this.assertConnected();
    const lease = this.state.live(key);
    if (!lease || lease.owner !== owner) return false;
    this.state.arm(key, lease, ttlMs);
    return true;
  }

  async leave(key: string, owner: string): Promise<void> {
    this.assertConnected();
    this.state.leave(key, owner);
    const lease = this.state.live(key);
    if (lease?.owner === owner) this.state.passOn(key, lease);
  }

  async onRelease(key: string, listener: (event: LockEvent) => void): Promise<() => Promise<void>> {
    this.assertConnected();
    let set = this.state.listeners.get(key);
    if (!set) {
      set = new Set();
      this.state.listeners.set(key, set);
    }
    // Wrap so the same function subscribed twice still gets two independent subscriptions.
    const sub = { key, listener: (event: LockEvent) => listener(event) };
    set.add(sub.listener);
    this.subscriptions.add(sub);
    return async () => {
      this.subscriptions.delete(sub);
      const current = this.state.listeners.get(key);
      current?.delete(sub.listener);
      if (current?.size === 0) this.state.listeners.delete(key);
    };
  }

  private assertConnected(): void {
    if (!this.connected) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'memory lock adapter is not connected');
  }
}
