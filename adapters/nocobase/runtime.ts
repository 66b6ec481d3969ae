/**
 * The clusterkit node underneath one NocoBase application: a clusterkit `App` over the adapter set
 * the host gave, started on the first call that needs it (the worker id during `app.load()`, the
 * queue and pub/sub adapters on `afterStart`, the lock adapter on first use) and stopped once when
 * NocoBase stops. Every NocoBase-facing adapter of one installation shares it.
 */
import { createApp, type App, type ClusterAdapters, type Logger } from 'clusterkit/adapter-kit';
import type { NocoBaseLogger } from './nocobase-types.js';

/** Options of {@link BridgeRuntime}. */
export interface BridgeRuntimeOptions {
  /** The cluster namespace every node of the NocoBase cluster shares. @default 'nocobase' */
  name?: string;
  /** This node's clusterkit adapters (`createRedisAdapters()`, `createRabbitMQAdapters()`, or both spread). */
  adapters: ClusterAdapters;
  logger: Logger;
  /** How long stopping waits for in-flight queue handlers before aborting their signals, in ms. @default 10000 */
  stopGracePeriodMs?: number;
}

/** One clusterkit node, shared by the adapters of one NocoBase application. */
export class BridgeRuntime {
  /** The clusterkit app: its managers carry the NocoBase adapters, and its extras (dead letters, fencing) are yours. */
  readonly app: App;
  readonly logger: Logger;
  private starting: Promise<void> | undefined;

  constructor(options: BridgeRuntimeOptions) {
    this.logger = options.logger;
    this.app = createApp({
      name: options.name ?? 'nocobase',
      adapters: options.adapters,
      logger: options.logger,
      // NocoBase has no managed jobs: this node neither consumes their physical queue nor fires schedules.
      managedQueue: { worker: false, schedules: false },
      ...(options.stopGracePeriodMs === undefined ? {} : { stopGracePeriodMs: options.stopGracePeriodMs }),
    });
  }

  /** True once started and until stopped. */
  get running(): boolean {
    return this.starting !== undefined;
  }

  /** Starts the clusterkit node unless it runs already; concurrent calls share one start. */
  ensureStarted(): Promise<void> {
    this.starting ??= this.app.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** Stops the clusterkit node (graceful: in-flight handlers finish or are handed back); safe to call twice. */
  async stop(): Promise<void> {
    const starting = this.starting;
    if (starting === undefined) return;
    this.starting = undefined;
    await starting.catch(() => {});
    await this.app.stop();
  }
}

/** clusterkit's logger interface over NocoBase's (looked up on every call: NocoBase replaces it on reload). */
export function nocobaseLogger(current: () => NocoBaseLogger): Logger {
  const call = (level: 'debug' | 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>) => {
    try {
      current()[level](`[clusterkit] ${message}`, readable(meta));
    } catch {
      // A logger that throws (closed transport during stop) must not break the caller.
    }
  };
  return {
    debug: (message, meta) => call('debug', message, meta),
    info: (message, meta) => call('info', message, meta),
    warn: (message, meta) => call('warn', message, meta),
    error: (message, meta) => call('error', message, meta),
  };
}

/** `meta` with its errors as plain objects: NocoBase's JSON log format prints an Error as `{}`. */
function readable(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  if (meta === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack }
        : value;
  }
  return out;
}
