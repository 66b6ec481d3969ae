/**
 * `node:diagnostics_channel` events the managers publish, for metrics and tracing without coupling
 * the managers to any metrics library. Publishing costs nothing while nobody subscribes.
 */
import { channel } from 'node:diagnostics_channel';

/** Name of the channel carrying {@link LockAcquiredEvent}s. */
export const LOCK_ACQUIRED_CHANNEL = 'clusterkit:lock:acquired';
/** Name of the channel carrying {@link PubSubMessageEvent}s. */
export const PUBSUB_MESSAGE_CHANNEL = 'clusterkit:pubsub:message';

/** Published after every successful lock acquisition. */
export interface LockAcquiredEvent {
  /** App name. */
  app: string;
  key: string;
  /** Time from the call to the grant, in ms. */
  waitMs: number;
}

/** Published per pub/sub message sent (`out`) or handed to this node's handlers (`in`). */
export interface PubSubMessageEvent {
  app: string;
  channel: string;
  direction: 'in' | 'out';
}

/** The channels themselves (subscribe with `diagnostics_channel.subscribe(name, fn)`). */
export const diagnostics = {
  lockAcquired: channel(LOCK_ACQUIRED_CHANNEL),
  pubSubMessage: channel(PUBSUB_MESSAGE_CHANNEL),
};
