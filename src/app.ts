/**
 * The app container: one node of a cluster. It builds the managers over the adapters it is given
 * (memory for any it is not), starts and stops them in order, and is where background failures go.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { ClusterAdapters } from './adapters.js';
import { CacheManager } from './cache/cache-manager.js';
import type { Cache } from './cache/cache.js';
import { defaultLogger, type Logger, type ManagerContext } from './context.js';
import { ClusterError, ErrorCodes } from './errors.js';
import { EventQueueManager } from './event-queue/event-queue-manager.js';
import { ManagedQueue } from './jobs/managed-queue.js';
import { pairedJobEngine } from './jobs/native-engine.js';
import type { ManagedQueueOptions } from './jobs/options.js';
import { LockManager } from './lock/lock-manager.js';
import { createMemoryAdapters } from './memory.js';
import { loadOpenTelemetry } from './tracing.js';
import { PluginManager } from './plugin/plugin-manager.js';
import { PubSubManager } from './pub-sub/pub-sub-manager.js';
import { SyncMessageManager } from './pub-sub/sync-message-manager.js';
import { assertDuration, assertName, assertOptions, DEFAULT_MAX_PAYLOAD_BYTES, assertInteger } from './validation.js';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Namespace of every channel, queue and key; nodes of one cluster share it. */
  name: string;
  /** Adapter instances for this node; memory for any primitive not given. */
  adapters?: ClusterAdapters;
  /** @default warnings and errors to stderr */
  logger?: Logger;
  /** How long `stop()` waits for in-flight handlers before aborting their signals, in ms. @default 10000 */
  stopGracePeriodMs?: number;
  /** Largest payload accepted by publish/enqueue, in bytes of JSON. @default 1048576 */
  maxPayloadBytes?: number;
  /** Options of `app.managedQueue` (physical queue name, worker concurrency, grace periods, retention). */
  managedQueue?: ManagedQueueOptions;
}

/** Events an app emits. */
export interface AppEvents {
  /** A background failure: a handler throwing, a broker dropping. Never thrown at a caller. */
  error: [error: Error, meta: Record<string, unknown>];
  started: [];
  stopped: [];
}

const APP_OPTIONS = ['name', 'adapters', 'logger', 'stopGracePeriodMs', 'maxPayloadBytes', 'managedQueue'] as const;

/** One node of a clusterkit cluster. Create with {@link createApp}. */
export class App extends EventEmitter<AppEvents> {
  /** App name (the namespace). */
  readonly name: string;
  /** Unique id of this node; "self" for `skipSelf`/`onlySelf`. */
  readonly nodeId: string;
  readonly logger: Logger;
  readonly eventQueue: EventQueueManager;
  readonly lockManager: LockManager;
  readonly pubSubManager: PubSubManager;
  readonly syncMessageManager: SyncMessageManager;
  readonly cacheManager: CacheManager;
  /** The default cache (`name: 'default'`, on the app's cache adapter). */
  readonly cache: Cache;
  /** Managed plugin jobs: one physical queue, `@PluginJobProcessor` handlers, tenant context. */
  readonly managedQueue: ManagedQueue;
  /** Registered plugins. */
  readonly pm: PluginManager;
  private readonly stopGracePeriodMs: number;
  private state: 'idle' | 'starting' | 'started' | 'stopping' = 'idle';
  private transition: Promise<void> = Promise.resolve();

  constructor(options: AppOptions) {
    super();
    assertOptions('createApp', options, APP_OPTIONS);
    this.name = assertName('app name', options?.name);
    this.nodeId = `${this.name}#${randomUUID()}`;
    this.logger = options.logger ?? defaultLogger;
    this.stopGracePeriodMs =
      options.stopGracePeriodMs === undefined
        ? 10_000
        : assertDuration('stopGracePeriodMs', options.stopGracePeriodMs, { allowZero: true });
    const maxPayloadBytes =
      options.maxPayloadBytes === undefined
        ? DEFAULT_MAX_PAYLOAD_BYTES
        : assertInteger('maxPayloadBytes', options.maxPayloadBytes, 1);
    const context: ManagerContext = {
      appName: this.name,
      nodeId: this.nodeId,
      logger: this.logger,
      maxPayloadBytes,
      reportError: (error, meta = {}) => this.reportError(error, meta),
    };
    // Memory fills every gap, so a partial adapter set (say RabbitMQ only) still gives a whole app.
    const given = options.adapters ?? {};
    const needsMemory = !given.eventQueue || !given.lock || !given.pubSub || !given.cache || !given.jobStore;
    const memory = needsMemory ? createMemoryAdapters() : undefined;
    this.eventQueue = new EventQueueManager({ adapter: given.eventQueue ?? memory!.eventQueue, context });
    this.lockManager = new LockManager({ adapter: given.lock ?? memory!.lock, context });
    this.pubSubManager = new PubSubManager({ adapter: given.pubSub ?? memory!.pubSub, context });
    this.syncMessageManager = new SyncMessageManager({ pubSubManager: this.pubSubManager, context });
    this.cacheManager = new CacheManager({
      store: given.cache ?? memory!.cache,
      context,
      lockManager: this.lockManager,
    });
    this.cache = this.cacheManager.createCache({ name: 'default' });
    const nativeEngine = pairedJobEngine(given);
    this.managedQueue = new ManagedQueue(
      {
        eventQueue: this.eventQueue,
        lockManager: this.lockManager,
        pubSubManager: this.pubSubManager,
        cacheManager: this.cacheManager,
        context,
        stopGracePeriodMs: this.stopGracePeriodMs,
        // A native job store from the adapter set; memory's when the cache is memory; else portable.
        ...(given.jobStore ? { jobStore: given.jobStore } : given.cache ? {} : { jobStore: memory!.jobStore }),
        // The adapter set's native managed-job engine, only when the app's event queue is that set's
        // own (the pairing rule, src/jobs/native-engine.ts); else the record engine.
        ...(nativeEngine ? { managedJobEngine: nativeEngine } : {}),
      },
      options.managedQueue,
    );
    this.pm = new PluginManager(this);
  }

  /** True between a finished `start()` and the beginning of `stop()`. */
  get started(): boolean {
    return this.state === 'started';
  }

  /**
   * Connects every manager (which opens the adapters' connections and activates subscriptions made
   * earlier), then loads and starts the registered plugins.
   */
  start(): Promise<void> {
    if (this.state === 'started' || this.state === 'starting') return this.transition;
    // The state flips synchronously so concurrent start()/stop() calls see it at once; the work is
    // chained so a stop() during start() runs after it, and a failed start doesn't wedge later calls.
    this.state = 'starting';
    this.transition = this.transition.then(
      () => this.startNow(),
      () => this.startNow(),
    );
    return this.transition;
  }

  /**
   * Graceful stop: plugins' `beforeStop`, then pub/sub and sync handlers stop being called (publishing
   * still works), then the event queue stops taking work and waits for
   * in-flight handlers (aborting their signals after `stopGracePeriodMs`; unfinished messages are
   * handed back, not lost), then every connection closes. Safe to call twice, or during `start()`.
   */
  stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopping') return this.transition;
    this.state = 'stopping';
    this.transition = this.transition.then(
      () => this.stopNow(),
      () => this.stopNow(),
    );
    return this.transition;
  }

  private async startNow(): Promise<void> {
    try {
      // Resolves false at once when the optional peer is absent; when present, publish/enqueue can
      // then capture the active trace context synchronously (no import on the hot path).
      await loadOpenTelemetry();
      await Promise.all([this.cacheManager.connect(), this.lockManager.connect(), this.pubSubManager.connect()]);
      await this.syncMessageManager.connect();
      await this.eventQueue.connect();
      await this.managedQueue.start();
      await this.pm.startAll();
    } catch (error) {
      await this.closeAll().catch(() => {});
      this.state = 'idle';
      throw error;
    }
    if (this.state === 'starting') this.state = 'started';
    this.emit('started');
  }

  private async stopNow(): Promise<void> {
    try {
      await this.closeAll();
    } finally {
      this.state = 'idle';
      this.emit('stopped');
    }
  }

  private async closeAll(): Promise<void> {
    await this.pm.stopAll();
    // From here no pub/sub or sync handler runs (pending debounces dropped); publishing still works
    // for the handlers that finish during the drain below.
    this.pubSubManager.stopIntake();
    // Together, so the node stops taking messages at once while the job layer winds down its timers.
    await Promise.all([this.managedQueue.stop(), this.eventQueue.close({ gracePeriodMs: this.stopGracePeriodMs })]);
    await this.syncMessageManager.close();
    await Promise.all([this.pubSubManager.close(), this.lockManager.close()]);
    await this.cacheManager.close();
  }

  /**
   * Sends a background failure to the logger and the `error` event. A failed attempt that will be
   * retried (`meta.outcome === 'retry'`) is expected, not an incident: when the app has an `error`
   * listener (which sees it in full), it is logged at info, one line, without the stack.
   */
  reportError(error: unknown, meta: Record<string, unknown> = {}): void {
    const err =
      error instanceof Error ? error : new ClusterError(ErrorCodes.INVALID_STATE, `non-error thrown: ${String(error)}`);
    if (meta.outcome === 'retry' && this.listenerCount('error') > 0) {
      const code = (err as { code?: unknown }).code;
      this.logger.info(`${err.message} (will retry)`, {
        ...meta,
        error: { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) },
        node: this.nodeId,
      });
    } else {
      this.logger.error(err.message, { ...meta, error: err, node: this.nodeId });
    }
    this.emit('error', err, meta);
  }
}

/**
 * Creates one node. Without `adapters` everything runs in memory (one process, zero services);
 * with `createRedisAdapters()` / `createRabbitMQAdapters()` / `adaptersFromEnv()` it joins a cluster.
 */
export function createApp(options: AppOptions): App {
  return new App(options);
}
