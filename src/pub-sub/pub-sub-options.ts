/**
 * The public shapes of the pub/sub manager's calls: handler signature, delivery facts and the
 * options of `subscribe` and `publish` (all durations in milliseconds).
 */

/** Facts about a delivered message, passed to handlers as their second argument. */
export interface PubSubMessageMeta {
  /** The channel as subscribed (without the app-name namespace). */
  readonly channel: string;
  /** `nodeId` of the app instance that published it. */
  readonly from: string;
  /** When it was published, in ms since the epoch (publisher's clock). */
  readonly publishedAt: number;
}

/** A subscriber. A thrown error or rejected promise goes to the app's `error` event. */
export type PubSubHandler<T = any> = (message: T, meta?: PubSubMessageMeta) => unknown;

/** Options of `PubSubManager.subscribe`. */
export interface PubSubSubscribeOptions {
  /**
   * Quiet period in ms: identical messages (same JSON) arriving closer together than this are merged
   * into one call, made when the period ends with the last of them. Distinct messages debounce
   * independently. 0 calls the handler for every message. @default 0
   */
  debounce?: number;
}

/** Options of `PubSubManager.publish`. */
export interface PubSubPublishOptions {
  /** Do not deliver to this app instance's own handlers. @default true */
  skipSelf?: boolean;
  /** Deliver only to this app instance's own handlers (nothing goes through the broker). Wins over `skipSelf`. @default false */
  onlySelf?: boolean;
}
