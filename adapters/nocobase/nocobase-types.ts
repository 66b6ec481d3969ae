/**
 * NocoBase's adapter interfaces, as `@nocobase/server` 2.x and `@nocobase/lock-manager` declare
 * them, restated structurally: the bridge implements them without importing NocoBase's types, so
 * clusterkit builds without NocoBase installed. Names and shapes match NocoBase's exactly.
 */

/** What a queue handler is told (NocoBase's `QueueCallbackOptions`). */
export interface QueueCallbackOptions {
  id?: string;
  /** Failed attempts before this one. */
  retried?: number;
  /** Aborts when the message's `timeout` passes, or when the node stops. */
  signal?: AbortSignal;
  /** The options the message was published with (`timeout`, `maxRetries`, `retried`, `timestamp`, ...). */
  queueOptions?: QueueMessageOptions;
}

/** A queue subscription (NocoBase's `QueueEventOptions`). */
export interface QueueEventOptions {
  /** How often a closed `idle()` gate is asked again, in ms. @default 250 */
  interval?: number;
  /** Messages handled at once on this node; `<= 0` = unlimited. @default 1 */
  concurrency?: number;
  /** Shared across NocoBase apps (no app prefix in the channel name). */
  shared?: boolean;
  /** Asked before each read: false = take nothing now. */
  idle(): boolean;
  process(message: any, options: QueueCallbackOptions): Promise<void>;
}

/**
 * Publish options (NocoBase's `QueueMessageOptions`). The bridge also reads clusterkit's `delay`,
 * `priority`, `jobId` and `backoff`, which NocoBase's `EventQueue.publish` passes through untouched.
 */
export interface QueueMessageOptions {
  /** The handler's signal aborts after this many ms. NocoBase's EventQueue sends 15000 unless told. */
  timeout?: number;
  /** Retries after a failed attempt. @default 0 */
  maxRetries?: number;
  retried?: number;
  timestamp?: number;
  /** clusterkit: earliest start, in ms from now (durable). @default 0 */
  delay?: number;
  /** clusterkit: lower runs first (0 urgent … 2 normal … 3 low). @default 2 */
  priority?: number;
  /** clusterkit: idempotency id — publishing an id still queued, running or dead-lettered does nothing. */
  jobId?: string;
  /** clusterkit: wait between attempts, in ms or `{ type, delay, maxDelay, jitter }`. @default 500 ms fixed */
  backoff?: number | { type: 'fixed' | 'exponential'; delay: number; maxDelay?: number; jitter?: number };
}

/** NocoBase's `IEventQueueAdapter`. */
export interface IEventQueueAdapter {
  isConnected(): boolean;
  connect(): Promise<void> | void;
  close(): Promise<void> | void;
  subscribe(channel: string, event: QueueEventOptions): void;
  unsubscribe(channel: string): void;
  publish(channel: string, message: any, options: QueueMessageOptions): Promise<void> | void;
}

/** NocoBase's `PubSubCallback`: gets the wire text (a JSON envelope NocoBase parses itself). */
export type PubSubCallback = (message: any) => Promise<void>;

/** NocoBase's `IPubSubAdapter`. */
export interface IPubSubAdapter {
  isConnected(): Promise<boolean> | boolean;
  connect(): Promise<any>;
  close(): Promise<any>;
  subscribe(channel: string, callback: PubSubCallback): Promise<any>;
  unsubscribe(channel: string, callback: PubSubCallback): Promise<any>;
  publish(channel: string, message: string): Promise<any>;
}

/** NocoBase's `Releaser`. */
export type Releaser = () => void | Promise<void>;

/** NocoBase's `ILock`: a handle returned by `tryAcquire`, the lock already reserved. */
export interface ILock {
  acquire(ttl: number): Releaser | Promise<Releaser>;
  extend?(ttl: number): void | Promise<void>;
  runExclusive<T>(fn: () => Promise<T>, ttl: number): Promise<T>;
  release(): void | Promise<void>;
}

/** NocoBase's `ILockAdapter`. */
export interface ILockAdapter {
  connect(): Promise<void>;
  close(): Promise<void>;
  acquire(key: string, ttl: number): Releaser | Promise<Releaser>;
  runExclusive<T>(key: string, fn: () => Promise<T>, ttl: number): Promise<T>;
  tryAcquire(key: string, timeout?: number): Promise<ILock>;
}

/** NocoBase's `WorkerIdAllocatorAdapter`. */
export interface WorkerIdAllocatorAdapter {
  getWorkerId(): Promise<number>;
  release(): Promise<void>;
}

/** NocoBase's logger, as far as the bridge uses it (winston-style: message, then meta). */
export interface NocoBaseLogger {
  debug(message: string, meta?: unknown): unknown;
  info(message: string, meta?: unknown): unknown;
  warn(message: string, meta?: unknown): unknown;
  error(message: string | Error, meta?: unknown): unknown;
}

/**
 * The parts of a NocoBase `Application` the bridge touches. Return types are loose on purpose, so a
 * real `Application` (whose managers declare richer types) is accepted as it is.
 */
export interface NocoBaseApp {
  readonly name: string;
  logger: NocoBaseLogger;
  eventQueue: {
    setAdapter(adapter: IEventQueueAdapter): unknown;
    isConnected(): boolean;
    subscribe(channel: string, options: QueueEventOptions): unknown;
    unsubscribe(channel: string): unknown;
    publish(channel: string, message: any, options?: QueueMessageOptions): Promise<unknown>;
  };
  pubSubManager: {
    setAdapter(adapter: IPubSubAdapter): unknown;
    subscribe(channel: string, callback: (message: any) => any, options?: { debounce?: number }): Promise<unknown>;
    unsubscribe(channel: string, callback: (message: any) => any): Promise<unknown>;
    publish(channel: string, message: any, options?: { skipSelf?: boolean; onlySelf?: boolean }): Promise<unknown>;
  };
  syncMessageManager: {
    publish(channel: string, message: any, options?: any): Promise<unknown>;
  };
  lockManager: {
    registerAdapter(
      name: string,
      config: { Adapter: new (...args: any[]) => ILockAdapter; options?: Record<string, any> },
    ): unknown;
  };
  workerIdAllocator: { setAdapter(adapter: WorkerIdAllocatorAdapter): unknown };
  // `init()` (protected in NocoBase's types) is reached without being declared here, so a real
  // `Application` is accepted as it is.
  on(event: string, listener: (...args: any[]) => any): unknown;
  off(event: string, listener: (...args: any[]) => any): unknown;
  listeners(event: string): unknown[];
}
