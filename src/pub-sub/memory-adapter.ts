/**
 * In-process pub/sub: every adapter instance built on one {@link MemoryBackend} is a node of one bus.
 * A publish fans out to every instance subscribed to the channel (the publisher's own included; the
 * manager filters "self"), always asynchronously and at most once.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { createMemoryBackend, type MemoryBackend } from '../memory-backend.js';
import type { PubSubAdapter } from './types.js';

type Listener = (payload: string) => void;

/** The bus shared by every adapter on one backend: channel → the listeners subscribed to it. */
type MemoryBus = Map<string, Set<Listener>>;

/** The memory pub/sub adapter. One instance per node; share a backend to make several nodes. */
export class MemoryPubSubAdapter implements PubSubAdapter {
  private readonly bus: MemoryBus;
  /** This instance's own listener per channel, so close/unsubscribe remove exactly what it added. */
  private readonly own = new Map<string, Listener>();
  private connected = false;

  /** @param backend shared state; apps whose adapters share it hear each other. @default a new backend */
  constructor(backend: MemoryBackend = createMemoryBackend()) {
    this.bus = backend.part<MemoryBus>('pub-sub', () => new Map());
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  /** Drops every subscription of this instance; messages still in flight to it are not delivered. */
  async close(): Promise<void> {
    for (const channel of [...this.own.keys()]) this.remove(channel);
    this.connected = false;
  }

  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.assertConnected('subscribe');
    this.remove(channel);
    // Wrap so each subscription has its own identity: a re-subscribe with the same function must
    // not resurrect deliveries already dropped by the unsubscribe before it.
    const listener: Listener = (payload) => onMessage(payload);
    this.own.set(channel, listener);
    let listeners = this.bus.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.bus.set(channel, listeners);
    }
    listeners.add(listener);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.remove(channel);
  }

  async publish(channel: string, payload: string): Promise<void> {
    this.assertConnected('publish');
    const listeners = this.bus.get(channel);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      // A macrotask, as a network hop would be: delivery never happens inside publish().
      setImmediate(() => {
        // Unsubscribed (or closed) since the publish: at-most-once means dropping it.
        if (!this.bus.get(channel)?.has(listener)) return;
        try {
          listener(payload);
        } catch {
          // A listener's failure is its own manager's business; it never stops the fan-out.
        }
      });
    }
  }

  private remove(channel: string): void {
    const listener = this.own.get(channel);
    if (!listener) return;
    this.own.delete(channel);
    const listeners = this.bus.get(channel);
    listeners?.delete(listener);
    if (listeners?.size === 0) this.bus.delete(channel);
  }

  private assertConnected(call: string): void {
    if (!this.connected) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `memory pub/sub adapter: ${call}() before connect()`);
    }
  }
}
