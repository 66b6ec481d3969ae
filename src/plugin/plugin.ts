/**
 * A small NocoBase-style plugin base: a name, the app, lifecycle hooks and sync messages to the
 * same plugin on the other nodes.
 */
import type { App } from '../app.js';
import type { Transaction } from '../pub-sub/sync-message-manager.js';

/** Options every plugin accepts. */
export interface PluginOptions {
  /** @default the class's static `pluginName`, else the class name */
  name?: string;
  [key: string]: unknown;
}

/** Base class of plugins; override the hooks you need. */
export class Plugin<O extends PluginOptions = PluginOptions> {
  /** Name used when `options.name` is not given. */
  static pluginName?: string;
  readonly app: App;
  readonly options: O;

  constructor(app: App, options: O) {
    this.app = app;
    this.options = options;
  }

  /** The plugin's name: its sync channel and its identity in `app.pm`. */
  get name(): string {
    const ctor = this.constructor as typeof Plugin;
    return this.options.name ?? ctor.pluginName ?? ctor.name;
  }

  /** Runs first, on `app.start()` (or on `pm.add()` after start). */
  async beforeLoad(): Promise<void> {}
  /** Register queues, processors, subscriptions here. */
  async load(): Promise<void> {}
  /** Runs once every plugin has loaded and the app is started. */
  async afterStart(): Promise<void> {}
  /** Runs first on `app.stop()`, in reverse registration order. */
  async beforeStop(): Promise<void> {}

  /**
   * Sends `message` to this plugin on every other node (sent after `transaction` commits, when given).
   * They receive it in {@link handleSyncMessage}.
   */
  async sendSyncMessage(message: unknown, options: { transaction?: Transaction } = {}): Promise<void> {
    await this.app.syncMessageManager.publish(this.name, message, options);
  }

  /** Receives sync messages sent by this plugin on other nodes. */
  async handleSyncMessage(_message: unknown): Promise<void> {}
}

/** A plugin class as accepted by `app.pm.add()`. */
export type PluginClass<P extends Plugin = Plugin> = new (app: App, options: any) => P;
