/**
 * In-process lock adapter: leases with expiry and a per-key fencing counter, kept in a
 * {@link MemoryBackend} so every app built on one backend contends for the same locks.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { createMemoryBackend, type MemoryBackend } from '../memory-backend.js';
import type { LockAdapter, TryAcquireResult } from './types.js';

interface Lease {
  readonly owner: string;
  expiresAt: number;
  /** Fires at `expiresAt` so waiters learn about an expiry without polling. */
  timer?: NodeJS.Timeout;
}

/** The state all memory lock adapters on one backend share. */
class MemoryLockState {
  readonly leases = new Map<string, Lease>();
  /** Last fencing token handed out per key. Never reset, so tokens keep increasing after a release. */
  readonly fencing = new Map<string, number>();
  readonly listeners = new Map<string, Set<() => void>>();

  /** Returns the live lease on `key`, dropping (and announcing) one that has run out. */
  live(key: string, now = Date.now()): Lease | undefined {
    const lease = this.leases.get(key);
    if (lease && lease.expiresAt <= now) {
      this.free(key, lease);
      return undefined;
    }
    return lease;
  }

  free(key: string, lease: Lease): void {
    clearTimeout(lease.timer);
    if (this.leases.get(key) === lease) this.leases.delete(key);
    this.notify(key);
  }

  arm(key: string, lease: Lease, ttlMs: number): void {
    clearTimeout(lease.timer);
    lease.expiresAt = Date.now() + ttlMs;
    lease.timer = setTimeout(() => {
      // The timer may fire a hair before Date.now() reaches expiresAt; the lease is over either way.
      if (this.leases.get(key) === lease) this.live(key, Math.max(Date.now(), lease.expiresAt));
    }, ttlMs);
    lease.timer.unref();
  }

  notify(key: string): void {
    const set = this.listeners.get(key);
    if (!set) return;
    // Deliver asynchronously: a listener must never run inside the caller's critical step.
    for (const listener of [...set]) queueMicrotask(listener);
  }
}

/**
 * Lock adapter for one process. Several apps given adapters on one backend behave as nodes of one
 * cluster. Expired leases are dropped lazily on access and by a timer at the lease's expiry, which
 * also wakes waiters, so a crashed (never releasing) holder frees the lock on time.
 */
export class MemoryLockAdapter implements LockAdapter {
  private readonly state: MemoryLockState;
  /** This node's listeners, removed on close. */
  private readonly subscriptions = new Set<{ key: string; listener: () => void }>();
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

  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult> {
    this.assertConnected();
    const now = Date.now();
    const held = this.state.live(key, now);
    if (held) return { acquired: false, retryAfterMs: Math.max(1, held.expiresAt - now) };
    const fencingToken = (this.state.fencing.get(key) ?? 0) + 1;
    this.state.fencing.set(key, fencingToken);
    const lease: Lease = { owner, expiresAt: now + ttlMs };
    this.state.arm(key, lease, ttlMs);
    this.state.leases.set(key, lease);
    return { acquired: true, fencingToken };
  }

  async release(key: string, owner: string): Promise<boolean> {
    this.assertConnected();
    const lease = this.state.live(key);
    if (!lease || lease.owner !== owner) return false;
    this.state.free(key, lease);
    return true;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    this.assertConnected();
    const lease = this.state.live(key);
    if (!lease || lease.owner !== owner) return false;
    this.state.arm(key, lease, ttlMs);
    return true;
  }

  async onRelease(key: string, onRelease: () => void): Promise<() => Promise<void>> {
    this.assertConnected();
    let set = this.state.listeners.get(key);
    if (!set) {
      set = new Set();
      this.state.listeners.set(key, set);
    }
    // Wrap so the same function subscribed twice still gets two independent subscriptions.
    const sub = { key, listener: () => onRelease() };
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
