/**
 * The connect/close state machine shared by the cache and lock managers: `connect()` is idempotent
 * and may be called again after `close()`, concurrent calls share one attempt, a failed attempt goes
 * back to idle, and calls before `connect()` either connect on first use (standalone managers) or
 * fail with `NOT_CONNECTED`. (The event queue and pub/sub managers have a `closing` phase and
 * subscriptions to restore, so they keep their own.)
 */
import { ClusterError, ErrorCodes } from './errors.js';

/** Where a manager is in its life: `closed` only after a `close()` of a connected (or connecting) manager. */
export type LifecycleState = 'idle' | 'connecting' | 'connected' | 'closed';

/** What a {@link ManagerLifecycle} needs from its manager. */
export interface ManagerLifecycleOptions {
  /** The manager's property name in messages, e.g. `cacheManager` (`cacheManager.setAdapter() must be ...`). */
  property: string;
  /** The manager in prose, e.g. `cache manager` (`cache manager is closed`). */
  noun: string;
  /** Connect on first use instead of failing with `NOT_CONNECTED`. */
  autoConnect: boolean;
  /** Opens the manager's adapters or stores; called once per connect attempt. */
  open: () => Promise<void>;
}

/** The connection state of one manager, and the transitions between states. */
export class ManagerLifecycle {
  private current: LifecycleState = 'idle';
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: ManagerLifecycleOptions) {}

  /** The current state. */
  get state(): LifecycleState {
    return this.current;
  }

  /** Opens the manager. Idempotent; concurrent calls share one attempt; a failed attempt leaves it idle. */
  connect(): Promise<void> {
    if (this.current === 'connected') return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.current = 'connecting';
    this.connecting = this.options.open().then(
      () => {
        this.current = 'connected';
        this.connecting = undefined;
      },
      (error: unknown) => {
        this.current = 'idle';
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  /**
   * Starts a close: waits for a pending connect attempt (whatever its outcome) and marks the manager
   * closed. Resolves false when there is nothing to close (idle or already closed); the caller then
   * returns without touching its adapters.
   */
  async beginClose(): Promise<boolean> {
    if (this.current === 'idle' || this.current === 'closed') return false;
    if (this.connecting) await this.connecting.catch(() => {});
    this.current = 'closed';
    return true;
  }

  /** True between a finished `connect()` and `close()`. */
  isConnected(): boolean {
    return this.current === 'connected';
  }

  /** Resolves once connected: joins a pending attempt, connects on first use, or rejects with `NOT_CONNECTED`. */
  async ensureConnected(): Promise<void> {
    if (this.current === 'connected') return;
    if (this.current === 'connecting' || (this.current === 'idle' && this.options.autoConnect)) return this.connect();
    const { noun } = this.options;
    throw new ClusterError(
      ErrorCodes.NOT_CONNECTED,
      this.current === 'closed' ? `${noun} is closed` : `${noun} is not connected (call connect() or app.start())`,
    );
  }

  /** Throws `INVALID_STATE` unless the manager was never connected (`<property>.<call>() must be called before connect()`). */
  assertIdle(call: string): void {
    if (this.current !== 'idle') {
      throw new ClusterError(
        ErrorCodes.INVALID_STATE,
        `${this.options.property}.${call}() must be called before connect()`,
      );
    }
  }
}
